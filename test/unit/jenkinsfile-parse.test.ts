/**
 * The Jenkinsfile reader the Jenkinsfile tests stand on: Groovy's strings and escapes, brackets
 * that must balance, directives nested as written. A reader that let a broken file through
 * would let the shipped Jenkinsfile's checks pass on a file Jenkins rejects.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readPipeline } from '../helpers/jenkins-build.js';
import { parseJenkinsfile, tokenize, type Directive } from '../helpers/jenkinsfile.js';

/** A Groovy single-quoted literal of `s` (Groovy's escapes: \\ \' \n). */
const single = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
/** A triple-single-quoted literal of `s`: newlines stay; every quote escaped. */
const triple = (s: string) => `'''${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'''`;

describe('Jenkinsfile tokens', () => {
  it("reads Groovy's escapes, line continuations and GStrings", () => {
    const [a, , b, , c, , d] = tokenize(
      `'it\\'s \\$HOME\\t\\u00e9'\n'''one \\\ntwo\n'''\n"plain"\n"\${env.X}"`,
    );
    expect(a).toMatchObject({ kind: 'string', text: "it's $HOME\té", quote: "'", line: 1 });
    // A backslash before a newline in a triple-quoted string joins the lines.
    expect(b).toMatchObject({ text: 'one two\n', quote: "'''", line: 2 });
    expect(c).toMatchObject({ text: 'plain', gstring: false, line: 5 });
    expect(d).toMatchObject({ text: '${env.X}', gstring: true, line: 6 });
  });

  it('skips comments, also ones with quotes and braces in them', () => {
    const t = tokenize("a // it's { open\n/* } ' \n */ b");
    expect(t.filter((x) => x.kind === 'word').map((x) => [x.text, x.line])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
  });

  it.each([
    ['pipeline {\n  stages {\n}', "line 1: '{' never closed"],
    ['a(]', "line 1: ']' closes the '(' of line 1"],
    ['}', "line 1: '}' closes nothing"],
    ["sh 'abc\n'", "line 1: string ' runs past the end of its line"],
    ["x\nsh '''abc", "line 2: string ''' never closed"],
    ["sh '\\q'", 'line 1: unknown escape \\q in a string'],
    ['a /* b', 'line 1: comment /* never closed'],
  ])('rejects %j', (src, message) => {
    expect(() => tokenize(src)).toThrow(message);
  });

  it('gives back any script written as a single- or triple-quoted literal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.boolean(), (s, useTriple) => {
        const src = `pipeline {\n stages {\n stage('x') {\n steps {\n sh ${useTriple ? triple(s) : single(s)}\n }\n }\n }\n}\n`;
        const step = readPipeline(src).stages[0]!.steps[0]!;
        expect(step).toMatchObject({ kind: 'sh', script: s, gstring: false });
      }),
    );
  });
});

type Tree = { name: string; arg: string; body?: Tree[] };
const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
  t: fc.record(
    {
      name: fc.constantFrom('stage', 'steps', 'post', 'always', 'options', 'when'),
      // Brackets and quotes inside strings must not count.
      arg: fc.string({
        unit: fc.constantFrom('{', '}', '(', ')', '[', ']', "'", '"', 'a', ' '),
        maxLength: 8,
      }),
      body: fc.array(tie('t'), { maxLength: 3 }),
    },
    { requiredKeys: ['name', 'arg'] },
  ),
})).t;

/** Renders the tree; `braces`: the offsets of its structural braces. */
function render(trees: Tree[], depth = 0): { text: string; braces: number[] } {
  let text = '';
  const braces: number[] = [];
  for (const t of trees) {
    text += `${'  '.repeat(depth)}${t.name}(${single(t.arg)})`;
    if (t.body) {
      braces.push(text.length + 1);
      text += ' {\n';
      const inner = render(t.body, depth + 1);
      braces.push(...inner.braces.map((b) => b + text.length));
      text += inner.text;
      braces.push(text.length + depth * 2);
      text += `${'  '.repeat(depth)}}\n`;
    } else text += '\n';
  }
  return { text, braces };
}

const shape = (ds: Directive[]): Tree[] =>
  ds.map((d) => ({
    name: d.name,
    arg: d.args.find((a) => a.kind === 'string')!.text,
    ...(d.body ? { body: shape(d.body) } : {}),
  }));

describe('Jenkinsfile directives', () => {
  it('nest as written, whatever the strings hold', () => {
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 3 }), (trees) => {
        expect(shape(parseJenkinsfile(render(trees).text))).toEqual(trees);
      }),
    );
  });

  it('are refused when any one structural brace is missing', () => {
    const withBody = tree.filter((t) => t.body !== undefined);
    fc.assert(
      fc.property(fc.array(withBody, { minLength: 1, maxLength: 3 }), fc.nat(), (trees, pick) => {
        const { text, braces } = render(trees);
        const at = braces[pick % braces.length]!;
        expect('{}').toContain(text[at]);
        expect(() => parseJenkinsfile(text.slice(0, at) + text.slice(at + 1))).toThrow(/line \d+:/);
      }),
    );
  });

  it('read a statement continued after a comma as one', () => {
    const [junit] = parseJenkinsfile("junit testResults: 'a.xml',\n  allowEmptyResults: false\necho 'x'");
    expect(junit!.args.map((a) => a.text)).toEqual([
      'testResults',
      ':',
      'a.xml',
      ',',
      'allowEmptyResults',
      ':',
      'false',
    ]);
  });
});
