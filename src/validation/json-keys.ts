/**
 * What JSON.parse lets pass in a body (or the CLI's --payload, `subject`) and a client would not
 * mean: a key given twice in one object (the last one wins: `{"dryRun":true, ... "dryRun":false}`
 * started a real run), and `__proto__` / `constructor` keys, which the parser refuses as prototype
 * poisoning with a message that said the body was not JSON. One pass over the text, keys compared
 * as JSON.parse reads them ("\u0061" is "a"); safe on any text, valid JSON or not. `parsed`:
 * whether the parser took the text; a key given twice is said only of a body that parsed, a
 * forbidden key only of one the parser refused (it refuses `constructor` only with a `prototype`
 * inside). Undefined when there is nothing to say.
 */
export function keyProblem(text: string, parsed: boolean, subject = 'body'): string | undefined {
  const objects: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = objects.at(-1);
      if (expectKey && keys) {
        const key = readString(text.slice(i, end + 1));
        if (key === undefined) return undefined;
        if (!parsed && (key === '__proto__' || key === 'constructor'))
          return `${subject} must not have a "${key}" key`;
        if (parsed && keys.has(key)) return `${subject} has the key "${key}" twice in one object`;
        keys.add(key);
      }
      expectKey = false;
      i = end;
    } else if (c === '{') {
      objects.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      objects.push(null);
    } else if (c === '}' || c === ']') {
      objects.pop();
    } else if (c === ',') {
      expectKey = objects.at(-1) != null;
    } else if (c === ':') {
      expectKey = false;
    }
  }
  return undefined;
}

function readString(literal: string): string | undefined {
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
