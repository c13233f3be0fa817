/**
 * `parseRating` (the shop's WhatsApp review replies), table-driven: the forms a rating takes
 * (digits, /5 scales, stars, number words in French and English), where it may stand in the
 * message, the comment left around it, and the replies that must stay unreadable (no mark, another
 * scale, out of range, half ratings, two marks that disagree, number words used as words).
 */
import { assertEquals } from "../_support/assert.ts";
import { parseRating } from "../../supabase/functions/_shared/shop/rating.ts";

/** [reply, rating, comment]: each reply must read as this rating with this comment. */
const READABLE: Array<[string, number, string]> = [
  // Digits, alone or with the /5 scale.
  ["1", 1, ""],
  ["2", 2, ""],
  ["3", 3, ""],
  ["4", 4, ""],
  ["5", 5, ""],
  [" 4 ", 4, ""],
  ["4/5", 4, ""],
  ["4 / 5", 4, ""],
  ["4 /5", 4, ""],
  ["5/5", 5, ""],
  ["1/5", 1, ""],
  ["4 sur 5", 4, ""],
  ["4 SUR 5", 4, ""],
  ["4 out of 5", 4, ""],
  ["4!", 4, ""],
  ["4.", 4, ""],
  ["4️⃣", 4, ""],
  // Anywhere in the message; the rest is the comment.
  ["4 très bien", 4, "très bien"],
  ["Très bien, 4/5 merci", 4, "Très bien, merci"],
  ["Très bien 4/5, merci", 4, "Très bien, merci"],
  ["Livraison rapide. 5", 5, "Livraison rapide."],
  ["4 - très bien", 4, "très bien"],
  ["4: parfait", 4, "parfait"],
  ["Note : 4, super", 4, "super"],
  ["rating: 5 great service", 5, "great service"],
  ["J'ai adoré ! 5/5 😍", 5, "J'ai adoré ! 😍"],
  ["bien\n\n4/5\nmerci", 4, "bien\nmerci"],
  ["  2   pas terrible  ", 2, "pas terrible"],
  ["<b>3</b> & co", 3, "<b> </b> & co"],
  // Stars: ⭐ (with or without its variation selector), ★, 🌟, empty stars ☆ in a run of five.
  ["⭐⭐⭐⭐", 4, ""],
  ["⭐", 1, ""],
  ["⭐⭐⭐⭐⭐", 5, ""],
  ["⭐️⭐️⭐️⭐️", 4, ""],
  ["⭐️⭐️⭐️⭐️⭐️ merci !", 5, "merci !"],
  ["⭐ ⭐ ⭐", 3, ""],
  ["★★", 2, ""],
  ["★★★☆☆", 3, ""],
  ["🌟🌟🌟🌟", 4, ""],
  ["Super ⭐⭐⭐⭐⭐", 5, "Super"],
  ["4/5 ⭐⭐⭐⭐", 4, ""],
  ["4⭐⭐⭐⭐", 4, ""],
  ["5 ⭐⭐⭐⭐⭐ top", 5, "top"],
  ["4⭐", 4, ""],
  ["4 étoiles", 4, ""],
  ["4 etoiles, bien", 4, "bien"],
  ["1 ÉTOILE", 1, ""],
  ["five stars, great", 5, "great"],
  ["Une étoile, déçu", 1, "déçu"],
  // Number words, French and English, any case, accents ignored.
  ["quatre", 4, ""],
  ["QUATRE", 4, ""],
  ["Cinq", 5, ""],
  ["deux", 2, ""],
  ["trois", 3, ""],
  ["un", 1, ""],
  ["Une", 1, ""],
  ["one", 1, ""],
  ["Two", 2, ""],
  ["three", 3, ""],
  ["FOUR", 4, ""],
  ["five", 5, ""],
  ["Quatre !", 4, ""],
  ["Cinq, parfait", 5, "parfait"],
  ["quatre très bien", 4, "très bien"],
  ["Un. Décevant", 1, "Décevant"],
  ["one - bad", 1, "bad"],
  ["trois sur cinq", 3, ""],
  ["four out of five", 4, ""],
  ["quatre/5", 4, ""],
  ["4 sur cinq", 4, ""],
  // Numbers that are not marks beside one that is.
  ["2 jours de retard mais 5/5", 5, "2 jours de retard mais"],
  ["Reçu en 3 jours, 4", 4, "Reçu en 3 jours"],
  ["5€ de livraison, 3", 3, "5€ de livraison"],
  ["à 14h, 4:30 et 2", 2, "à 14h, 4:30 et"],
  ["commande #3 : 4/5", 4, "commande #3"],
  ["Top 10 des boutiques, 5", 5, "Top 10 des boutiques"],
  ["2024 : 4", 4, "2024"],
  ["une belle expérience, 4", 4, "une belle expérience"],
  ["les deux produits sont parfaits 5/5", 5, "les deux produits sont parfaits"],
  ["The best one! 5", 5, "The best one!"],
  ["3 produits livrés, note 4/5", 4, "3 produits livrés"],
  ["J'ai 2 enfants et c'est 5/5", 5, "J'ai 2 enfants et c'est"],
  // The same rating twice is one mark.
  ["4/5 4 étoiles", 4, ""],
  ["5 ⭐⭐⭐⭐⭐ cinq sur cinq", 5, ""],
];

/** Replies without a readable rating. */
const UNREADABLE: string[] = [
  "",
  "   ",
  "bof",
  "Merci !",
  "😍",
  "une belle expérience",
  "un peu déçu",
  "the best one",
  "One of the best",
  "les deux produits",
  "deux jours de retard",
  "2 jours de retard",
  "3 produits",
  "5 €",
  "10h",
  // Out of range, or another scale.
  "0",
  "6",
  "10",
  "0/5",
  "6/5",
  "10/10",
  "8/10",
  "5/12",
  "3 sur 10",
  "four out of ten",
  "0 étoile",
  "6 étoiles",
  "⭐⭐⭐⭐⭐⭐",
  "☆☆☆☆☆",
  "★★★☆",
  // Half ratings.
  "4.5",
  "4,5",
  "4,5/5",
  "3.5 étoiles",
  // Two marks that disagree.
  "4 ou 5",
  "4/5 5/5",
  "3 ⭐⭐⭐⭐",
  "5⭐⭐⭐⭐",
  "Quatre, 5/5",
  "3 produits, 2 livrés, note 4/5",
  "1 2 3",
];

for (const [reply, rating, comment] of READABLE) {
  Deno.test(`parseRating reads ${JSON.stringify(reply)} as ${rating} with comment ${JSON.stringify(comment)}`, () => {
    assertEquals(parseRating(reply), { rating, comment });
  });
}

Deno.test("parseRating finds no rating in replies that have none, another scale, a half rating or two that disagree", () => {
  const read = UNREADABLE.map((reply) => [reply, parseRating(reply)]);
  assertEquals(read, UNREADABLE.map((reply) => [reply, null]));
});

Deno.test("parseRating keeps the comment's accents, case and emoji, and trims only its ends", () => {
  assertEquals(parseRating("ÉTÉ génial 👍 — 5 — À bientôt"), {
    rating: 5,
    comment: "ÉTÉ génial 👍 — À bientôt",
  });
});

Deno.test("parseRating reads a long reply and returns its whole comment", () => {
  const text = "Très bon accueil. ".repeat(200);
  const parsed = parseRating(`${text}4/5`);
  assertEquals(parsed?.rating, 4);
  assertEquals(parsed?.comment, text.trim());
});
