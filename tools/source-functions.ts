// The functions of a source tree as a reader sees them, found by the
// TypeScript parser, for tools/coverage-scenarios.ts to count.
//
// Why not count the functions in c8's report: V8 reports only the functions
// it has to. It leaves out an uncalled function nested in another uncalled
// range (the methods of a class never built, a closure in a function never
// run), a file no thread loaded becomes one "(empty-report)" entry, and
// v8-to-istanbul drops every function V8 gives no name. So the report's
// list grows as the soak reaches more, and a share computed over it
// overstates the reach. This list is fixed by the source; the report only
// says which of its functions ran.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * A named function of a source file: its name as V8 reports it (a method's
 * without its class), the name it is listed by (a class member's with its
 * class: Freetype.allocFolio and PerFolio.allocFolio share a file), and
 * where it starts (1-based line, 0-based column).
 */
export interface SourceFunction { v8Name: string; name: string; line: number; column: number }

/** The .ts files under dir, recursively (not declaration files), sorted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.c?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/**
 * The name a function is known by: its declared name, or the variable,
 * property or class field it is assigned to (the name V8 infers too).
 * Null for an anonymous callback: it is part of the function it is written
 * in, and V8's report does not name it either.
 */
function functionName(node: ts.Node): string | null {
  if (ts.isConstructorDeclaration(node)) {
    const cls = node.parent;
    return cls.name?.text ?? null;
  }
  if (ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
    return `${ts.isGetAccessorDeclaration(node) ? 'get' : 'set'} ${node.name.getText()}`;
  }
  if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) return node.name?.getText() ?? null;
  if (ts.isFunctionExpression(node) || ts.isArrowFunction(node)) {
    if (ts.isFunctionExpression(node) && node.name) return node.name.text;
    const p = node.parent;
    if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.initializer === node) {
      return p.name.getText();
    }
    // `this.visit = (mm, vpn) => ...` in a constructor: V8 names it Class.visit.
    if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken && p.right === node
      && ts.isPropertyAccessExpression(p.left)) {
      const lhs = p.left.getText();
      const cls = ts.findAncestor(p, ts.isClassLike);
      return lhs.startsWith('this.') && cls?.name !== undefined ? `${cls.name.text}.${lhs.slice(5)}` : lhs;
    }
  }
  return null;
}

/**
 * Every named function in a TypeScript source text, in source order: function
 * declarations, methods, constructors, accessors, and function expressions
 * bound to a name (a variable, a property, or a property assigned to). Class field initialisers are not functions here (V8
 * reports them as `<instance_members_initializer>`: see coverage-scenarios.ts),
 * nor are overload signatures and bodiless declarations.
 */
export function parseFunctions(fileName: string, text: string): SourceFunction[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const out: SourceFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const v8Name = functionName(node);
      if (v8Name !== null) {
        const at = sf.getLineAndCharacterOfPosition(node.getStart(sf));
        // A method, accessor or field of a class (not its constructor, named for the class already).
        const member = ts.isPropertyDeclaration(node.parent) ? node.parent : node;
        const cls = ts.isClassLike(member.parent) && !ts.isConstructorDeclaration(node) ? member.parent.name?.text : undefined;
        out.push({ v8Name, name: cls === undefined ? v8Name : `${cls}.${v8Name}`, line: at.line + 1, column: at.character });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** parseFunctions of a file on disk. */
export function fileFunctions(path: string): SourceFunction[] {
  return parseFunctions(path, readFileSync(path, 'utf8'));
}
