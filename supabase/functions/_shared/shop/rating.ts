/**
 * Reads a rating out of a customer's WhatsApp reply to a review request: "4", "4/5", "4 / 5",
 * "4 sur 5", "4 out of 5", "4 étoiles", "⭐⭐⭐⭐" (also ★, 🌟, "⭐️" with its variation selector,
 * "★★★★☆"), or a number word in French (un, une, deux, trois, quatre, cinq) or English (one ...
 * five), case- and accent-insensitive, anywhere in the message. The rest of the message is the
 * comment.
 *
 * The rules, chosen so that a wrong rating is rarer than a polite question:
 *
 * - **A mark** is a number 1..5 standing alone ("4 très bien", "Très bien, 4/5 merci"), a number
 *   with the /5 scale ("4/5", "4 sur 5", "quatre sur cinq"), a number with a star word ("4
 *   étoiles", "five stars", "4⭐"), or a run of star symbols (filled stars counted; with empty
 *   stars ☆ the run must have five; "4⭐⭐⭐⭐" is the same rating twice).
 * - **Number words** are ordinary words too ("une belle expérience", "the best one", "les deux
 *   produits"), so a word is a mark only with a scale or a star word, as the whole message
 *   ("Quatre !"), or as the first word: deux..cinq / two..five followed by anything but a unit
 *   ("Cinq, parfait", "quatre très bien"); un / une / one only when followed by punctuation or
 *   nothing ("Un. Décevant").
 * - **Numbers that are not marks** are ignored: outside 1..5 without a scale ("top 10", "2024"),
 *   followed by a unit ("2 jours", "3 produits", "5 €", "10h"), glued to letters or to a time
 *   ("4:30").
 * - **Unreadable → null**: no mark; a scale other than /5 ("10/10", "8/10", "5/12") or a
 *   numerator outside 1..5 ("6/5", "0/5"); a half rating ("4.5", "4,5/5"); more or fewer stars
 *   than 1..5; two marks that disagree ("4 ou 5", "2 jours... 5/5" is fine: "2 jours" is not a
 *   mark). The same rating written twice ("4/5 ⭐⭐⭐⭐") is one mark.
 * - **The comment** is the original text (accents and case kept) without the marks (and a
 *   "note :" / "rating:" label right before one), whitespace collapsed, separators left at its
 *   ends trimmed ("Très bien, 4/5 merci" → "Très bien, merci"; "4 - super" → "super"); "" when
 *   nothing else was written.
 *
 * @example
 * parseRating("Très bien, 4/5 merci"); // { rating: 4, comment: "Très bien, merci" }
 * parseRating("⭐️⭐️⭐️⭐️⭐️"); // { rating: 5, comment: "" }
 * parseRating("bof"); // null
 */

/** A rating of the shop: 1 (worst) to 5 (best). */
export type Rating = 1 | 2 | 3 | 4 | 5;

/** A readable reply: its rating, and the rest of the text as the comment ("" when none). */
export interface ParsedRating {
  rating: Rating;
  comment: string;
}

/** Number words, lower case without accents. */
const WORDS: Readonly<Record<string, number>> = {
  un: 1,
  une: 1,
  deux: 2,
  trois: 3,
  quatre: 4,
  cinq: 5,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
};
/** Number words that are also articles or pronouns: marks only in the strictest places. */
const ARTICLES = new Set(["un", "une", "one"]);

const STARS_FILLED = "⭐★🌟";
const STAR_EMPTY = "☆";
const NUMBER = String.raw`\d+(?:[.,]\d+)?`;
const WORD = "une|un|deux|trois|quatre|cinq|one|two|three|four|five";
/** Words for other scales after "sur" / "out of": read, so that "four out of ten" is refused. */
const SCALE_WORDS = "six|sept|huit|neuf|dix|vingt|cent|seven|eight|nine|ten|twenty|hundred";
/**
 * A number, optionally followed by a star word and by a scale, matched in the normalized text
 * (lower case, accents and variation selectors removed). Groups: number, star word, scale.
 */
const MARK = new RegExp(
  String.raw`(?<![\p{L}\p{N}#°+€$£])(${NUMBER}|${WORD})` +
    String.raw`(?:\s*(etoiles?|stars?|[${STARS_FILLED}](?!\s*[${STARS_FILLED}${STAR_EMPTY}])))?` +
    String.raw`(?:\s*(?:\/|sur(?!\p{L})|out\s+of(?!\p{L}))\s*(${NUMBER}|${WORD}|${SCALE_WORDS}))?` +
    String.raw`(?![\p{L}\p{N}€$£%]|[.,:]\d)`,
  "gu",
);
/** A run of star symbols (spaces between them allowed). */
const STAR_RUN = new RegExp(
  `[${STARS_FILLED}${STAR_EMPTY}](?:\\s*[${STARS_FILLED}${STAR_EMPTY}])*`,
  "gu",
);
/** Words after a number that make it a quantity, not a rating ("2 jours", "3 produits"). */
const UNIT = new RegExp(
  "^\\s*(?:jours?|j|days?|semaines?|weeks?|heures?|hours?|hrs?|h|minutes?|mins?|secondes?|" +
    "seconds?|mois|months?|ans?|annees?|years?|euros?|eur|dollars?|usd|fois|times|x|" +
    "produits?|articles?|items?|pieces?|commandes?|orders?|kg|g|km|m|personnes?|people|" +
    "enfants?|kids?|€|\\$|£)(?![\\p{L}\\p{N}])",
  "u",
);
/** A label right before a mark, removed with it ("note : 4"). */
const LABEL = /(?:^|[^\p{L}\p{N}])((?:note|rating|score)\s*[:=]?\s*)$/u;
/** What may follow an article-like word for it to be a mark: punctuation or nothing. */
const AFTER_ARTICLE = /^\s*(?:[,.;:!?)\-–—]|$)/u;
const ALNUM = /[\p{L}\p{N}]/u;

/** The text in lower case without accents, with where each of its characters came from. */
interface Normalized {
  text: string;
  /** `origin[i]` is the index in the original text of the character behind `text[i]`. */
  origin: number[];
  /** The original text's length (the origin of the end). */
  length: number;
}

function normalize(original: string): Normalized {
  let text = "";
  const origin: number[] = [];
  let index = 0;
  for (const char of original) {
    const plain = char.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    for (let i = 0; i < plain.length; i++) origin.push(index);
    text += plain;
    index += char.length;
  }
  return { text, origin, length: original.length };
}

/** Where in the original text a range of the normalized text came from. */
function originalRange(n: Normalized, start: number, end: number): [number, number] {
  return [n.origin[start] ?? n.length, end < n.origin.length ? n.origin[end] : n.length];
}

/** A value from a number or a word: the integer, or NaN for a decimal. */
function valueOf(token: string): number {
  if (Object.hasOwn(WORDS, token)) return WORDS[token];
  return /^\d+$/.test(token) ? Number(token) : Number.NaN;
}

function isRating(value: number): value is Rating {
  return Number.isInteger(value) && value >= 1 && value <= 5;
}

/** What one candidate says: a rating, an unreadable mark, or nothing. */
type Reading = { kind: "mark"; value: Rating } | { kind: "invalid" } | { kind: "ignore" };

/** Reads a number match (number, optional star word, optional scale) in its context. */
function readNumber(
  token: string,
  starWord: string | undefined,
  scale: string | undefined,
  before: string,
  after: string,
): Reading {
  const value = valueOf(token);
  if (scale !== undefined) {
    return valueOf(scale) === 5 && isRating(value) ? { kind: "mark", value } : { kind: "invalid" };
  }
  if (starWord !== undefined) {
    return isRating(value) ? { kind: "mark", value } : { kind: "invalid" };
  }
  if (UNIT.test(after)) return { kind: "ignore" };
  const first = !ALNUM.test(before);
  const alone = first && !ALNUM.test(after);
  if (Object.hasOwn(WORDS, token)) {
    if (!isRating(value)) return { kind: "ignore" };
    if (alone) return { kind: "mark", value };
    if (!first) return { kind: "ignore" };
    if (ARTICLES.has(token)) {
      return AFTER_ARTICLE.test(after) ? { kind: "mark", value } : { kind: "ignore" };
    }
    return { kind: "mark", value };
  }
  if (Number.isNaN(value)) return { kind: "invalid" };
  return isRating(value) ? { kind: "mark", value } : { kind: "ignore" };
}

/** Reads a run of stars: the filled ones count; with empty ones, the run must have five. */
function readStars(run: string): Reading {
  let filled = 0;
  let empty = 0;
  for (const char of run) {
    if (STARS_FILLED.includes(char)) filled++;
    else if (char === STAR_EMPTY) empty++;
  }
  if (empty > 0 && filled + empty !== 5) return { kind: "invalid" };
  return isRating(filled) ? { kind: "mark", value: filled } : { kind: "invalid" };
}

/** The comment: the text without the marks, whitespace collapsed, separators trimmed. */
function commentOf(original: string, ranges: Array<[number, number]>): string {
  let text = "";
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue;
    text += original.slice(at, start) + " ";
    at = end;
  }
  text += original.slice(at);
  const cleaned = text
    .replace(/[^\S\n]+/g, " ")
    .replace(/ ?\n[\s]*/g, "\n")
    .replace(/ +([,.])/g, "$1")
    .replace(/([,;:\-–—])(?:\s*[,;:\-–—])+/gu, "$1")
    .replace(/^[\s,;:.!?\-–—/|]+/u, "")
    .replace(/[\s,;:\-–—/|]+$/u, "");
  return ALNUM.test(cleaned) ? cleaned : "";
}

/**
 * Reads the rating of a reply (see the module's description for the rules).
 *
 * @returns the rating and the comment, or null when the reply has no readable rating or two
 *   that disagree.
 * @example
 * parseRating("4 très bien"); // { rating: 4, comment: "très bien" }
 * parseRating("10/10"); // null: only the /5 scale is read
 */
export function parseRating(text: string): ParsedRating | null {
  const n = normalize(text);
  let rest = n.text;
  const values = new Set<Rating>();
  const ranges: Array<[number, number]> = [];
  let unreadable = false;

  const take = (reading: Reading, start: number, end: number) => {
    if (reading.kind === "invalid") unreadable = true;
    if (reading.kind !== "mark") return;
    values.add(reading.value);
    const label = LABEL.exec(n.text.slice(0, start));
    ranges.push(originalRange(n, label ? start - label[1].length : start, end));
  };

  for (const match of n.text.matchAll(MARK)) {
    const start = match.index;
    const end = start + match[0].length;
    const reading = readNumber(
      match[1],
      match[2],
      match[3],
      n.text.slice(0, start),
      n.text.slice(end),
    );
    take(reading, start, end);
    if (reading.kind !== "ignore") {
      rest = rest.slice(0, start) + " ".repeat(end - start) + rest.slice(end);
    }
  }
  for (const match of rest.matchAll(STAR_RUN)) {
    take(readStars(match[0]), match.index, match.index + match[0].length);
  }

  if (unreadable || values.size !== 1) return null;
  const [rating] = values;
  return { rating, comment: commentOf(text, ranges) };
}
