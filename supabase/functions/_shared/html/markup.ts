/**
 * HTML escaping and a tagged template that escapes every interpolated value, so that emails
 * and pages cannot be broken (or injected into) by a name, a clinic or a URL.
 */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes `& < > " '`: the result is safe as element text and inside a quoted attribute.
 *
 * @example
 * escapeHtml('<b>Dr "X" & Co</b>'); // "&lt;b&gt;Dr &quot;X&quot; &amp; Co&lt;/b&gt;"
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

/** Markup that is already safe: the `markup` template inserts it as is. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/**
 * What the `markup` template accepts: safe markup, text (escaped), numbers, lists of those, and
 * `null`, `undefined` or `false` for nothing.
 */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | null
  | undefined
  | false
  | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * A tagged template for markup: the literal parts are trusted, every interpolated value is
 * escaped unless it is a `SafeHtml` (such as the result of another `markup` template). Always
 * quote attributes with double quotes. (It is not called `html` because `deno fmt` would then
 * reformat the templates as HTML, and it rewrites escapes such as `\n`.)
 *
 * @example
 * markup`<a href="${url}">${label}</a>`.value; // url and label escaped
 */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new SafeHtml(out);
}
