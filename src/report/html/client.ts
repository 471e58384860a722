// The page script of the HTML report. It runs in the browser, not in Node:
// page.ts inlines `renderCharts.toString()`, so this function must use only
// its arguments (no imports, no module-level names) and plain ES2022.
// Types are declared locally: the project does not compile against the DOM
// library.

/* The few browser shapes the script touches. */
interface ChartEl { readonly id: string; setAttribute(name: string, value: string): void }
interface Doc { getElementById(id: string): ChartEl | null }
interface EChartsInstance { setOption(option: Record<string, unknown>): void }
interface ECharts { init(el: ChartEl, theme: null, opts: { renderer: 'svg' }): EChartsInstance }
interface WhiskerApi {
  value(dim: number): number;
  coord(point: [number, number]): [number, number];
  size(span: [number, number]): [number, number];
}

/**
 * Draws every chart of the page: `options` maps a chart element's id to its
 * ECharts option (charts.ts). A custom series whose renderItem is the
 * string 'whiskers' gets the min..max whisker drawing. Each element gets
 * data-rendered="1" once its chart is drawn.
 */
export function renderCharts(echarts: ECharts, doc: Doc, options: Record<string, Record<string, unknown>>): void {
  function whiskers(_params: unknown, api: WhiskerApi): Record<string, unknown> {
    const x = api.value(0);
    const lo = api.coord([x, api.value(1)]);
    const hi = api.coord([x, api.value(2)]);
    const half = Math.max(4, api.size([1, 0])[0] * 0.12);
    // WHISKER_STROKE: the browser test counts whisker lines by this colour.
    const style = { stroke: '#222', lineWidth: 1.5 };
    return {
      type: 'group',
      children: [
        { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
        { type: 'line', shape: { x1: lo[0] - half, y1: lo[1], x2: lo[0] + half, y2: lo[1] }, style },
        { type: 'line', shape: { x1: hi[0] - half, y1: hi[1], x2: hi[0] + half, y2: hi[1] }, style },
      ],
    };
  }
  for (const id of Object.keys(options)) {
    const el = doc.getElementById(id);
    if (el === null) throw new Error(`shootdown report: no element #${id} for its chart`);
    const option = options[id]!;
    const series = (option['series'] ?? []) as Record<string, unknown>[];
    for (const s of series) if (s['renderItem'] === 'whiskers') s['renderItem'] = whiskers;
    echarts.init(el, null, { renderer: 'svg' }).setOption(option);
    el.setAttribute('data-rendered', '1');
  }
}
