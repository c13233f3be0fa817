/**
 * Every sentence the shop writes, to customers (order messages, review requests, thanks, the one
 * question after an unreadable reply) and to admins (alerts), in French (the default) and
 * English. Sentences are plain text that take values already formatted (money, dates: see
 * `./templates.ts`); emails escape them like any other value, WhatsApp sends them as they are.
 */
import type { Locale } from "../i18n/locale.ts";

/** The kinds of customer message (`shop_messages.kind`). */
export const MESSAGE_KINDS = [
  "order_confirmation",
  "payment_reminder",
  "ready_pickup",
  "pickup_reminder",
  "satisfaction",
  "review_request",
  "review_thanks",
  "review_question",
] as const;

/** A kind of customer message. */
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** The kinds of admin alert (`shop_alerts.kind`). */
export const ALERT_KINDS = ["low_review", "low_stock", "dead_jobs"] as const;

/** A kind of admin alert. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** What a customer message's sentences may mention, already formatted for the reader. */
export interface MessageFacts {
  /** The order's number. */
  order: number;
  /** The order's total ("12,50 €"). */
  total: string;
  /** When the order was placed ("mardi 24 novembre 2026 à 14 h 30"). */
  orderedAt: string;
  /** When it became ready for pickup, when it did. */
  readyAt: string | null;
}

/** One customer message: its subject (emails) and its paragraphs (emails and WhatsApp). */
export interface MessageText {
  subject: string;
  paragraphs: string[];
}

/** The facts of a low review alert. */
export interface LowReviewFacts {
  rating: number;
  order: number | null;
  customer: string;
  comment: string | null;
}

/** The facts of a low stock alert. */
export interface LowStockFacts {
  product: string;
  stock: number;
  threshold: number;
}

/** The facts of a dead jobs digest (dates formatted). */
export interface DeadJobsFacts {
  total: number;
  since: string | null;
  until: string;
}

/** All the words of one language. */
export interface Messages {
  /** "Bonjour Marie," or, without a name, "Bonjour,". */
  greeting(name: string): string;
  /** The line above the shop's name. */
  signOff: string;
  /** A label followed by its colon: "Total :" in French, "Total:" in English. */
  labelled(label: string): string;
  /** The label of an order's total. */
  total: string;
  /** The heading above an order's items. */
  items: string;
  /** One item: "2 × Pain de campagne (4,80 €)". */
  item(quantity: number, name: string, amount: string): string;
  /** The customer messages, by kind. */
  customer: Record<MessageKind, (facts: MessageFacts) => MessageText>;
  /** The review request by WhatsApp: how to answer (a mark from 1 to 5 and a comment). */
  reviewReplyHint: string;
  /** The review request by email: the sentence above the five rating links, and each link. */
  ratingLinks: { intro: string; label(rating: number): string; note: string };
  /** The admin alerts. */
  alerts: {
    lowReview(facts: LowReviewFacts): MessageText;
    lowStock(facts: LowStockFacts): MessageText;
    deadJobs(facts: DeadJobsFacts): MessageText;
    /** A digest's line per queue. */
    queueLine(queue: string, count: number): string;
    /** A digest's line per job. */
    jobLine(id: number, queue: string, subject: string | null, error: string | null): string;
    /** Appended when the digest lists fewer jobs than it counts. */
    more(count: number): string;
    /** The line that says which shop the alert comes from. */
    footer(shop: string): string;
  };
}

const STARS = (n: number) => "⭐".repeat(n);

const fr: Messages = {
  greeting: (name) => (name ? `Bonjour ${name},` : "Bonjour,"),
  signOff: "À bientôt,",
  labelled: (label) => `${label} :`,
  total: "Total",
  items: "Votre commande",
  item: (quantity, name, amount) => `${quantity} × ${name} (${amount})`,
  customer: {
    order_confirmation: (f) => ({
      subject: `Commande n° ${f.order} bien reçue`,
      paragraphs: [
        `Merci ! Nous avons bien enregistré votre commande n° ${f.order}, passée le ` +
        `${f.orderedAt}.`,
        "Nous vous préviendrons dès qu'elle sera prête à être retirée.",
      ],
    }),
    payment_reminder: (f) => ({
      subject: `Commande n° ${f.order} : paiement en attente`,
      paragraphs: [
        `Votre commande n° ${f.order} (${f.total}), passée le ${f.orderedAt}, attend encore ` +
        "son règlement. Nous la préparerons dès que le paiement nous sera parvenu.",
        "Si vous venez de payer, ce message s'est croisé avec votre règlement : il n'y a rien " +
        "d'autre à faire.",
      ],
    }),
    ready_pickup: (f) => ({
      subject: `Commande n° ${f.order} prête à retirer`,
      paragraphs: [
        `Bonne nouvelle : votre commande n° ${f.order} est prête. Vous pouvez passer la ` +
        "chercher en boutique aux heures d'ouverture.",
        "Indiquez simplement votre nom ou le numéro de la commande au comptoir.",
      ],
    }),
    pickup_reminder: (f) => ({
      subject: `Commande n° ${f.order} : elle vous attend toujours`,
      paragraphs: [
        `Votre commande n° ${f.order} est prête depuis le ${f.readyAt ?? f.orderedAt} et ` +
        "vous attend en boutique.",
        "Si vous ne pouvez pas venir la chercher, répondez-nous : nous trouverons une solution.",
      ],
    }),
    satisfaction: (f) => ({
      subject: `Votre commande n° ${f.order} vous a-t-elle plu ?`,
      paragraphs: [
        `Vous avez retiré votre commande n° ${f.order} : nous espérons que tout vous convient.`,
        "Un souci avec un article ? Dites-le-nous, nous ferons le nécessaire.",
      ],
    }),
    review_request: (f) => ({
      subject: `Votre avis sur la commande n° ${f.order}`,
      paragraphs: [
        `Quelques jours ont passé depuis votre commande n° ${f.order}. Qu'en avez-vous pensé ?`,
      ],
    }),
    review_thanks: (f) => ({
      subject: `Merci pour votre avis sur la commande n° ${f.order}`,
      paragraphs: [
        "Merci d'avoir pris le temps de nous répondre : votre avis est bien enregistré.",
        "Il nous aide à mieux vous servir.",
      ],
    }),
    review_question: (f) => ({
      subject: `Votre note pour la commande n° ${f.order}`,
      paragraphs: [
        "Merci pour votre message ! Nous n'avons toutefois pas réussi à y lire une note.",
        `Pourriez-vous nous répondre avec un chiffre de 1 à 5 (par exemple 4 ou ${STARS(4)}) ?`,
      ],
    }),
  },
  reviewReplyHint: `Répondez simplement à ce message avec une note de 1 à 5, par exemple 4 ou ` +
    `${STARS(4)}, suivie d'un commentaire si vous le souhaitez.`,
  ratingLinks: {
    intro: "Choisissez votre note d'un clic :",
    label: (rating) => `${rating}/5 ${"★".repeat(rating)}`,
    note: "Chaque lien ouvre une page où vous confirmez votre note : rien n'est enregistré " +
      "avant.",
  },
  alerts: {
    lowReview: (f) => ({
      subject: `Avis négatif : ${f.rating}/5` +
        (f.order === null ? "" : ` pour la commande n° ${f.order}`),
      paragraphs: [
        `${f.customer || "Un client"} a donné la note de ${f.rating}/5` +
        (f.order === null ? "." : ` à la commande n° ${f.order}.`),
        f.comment ? `Son commentaire : « ${f.comment} »` : "Aucun commentaire.",
        "Un contact rapide avec ce client peut rattraper la situation.",
      ],
    }),
    lowStock: (f) => ({
      subject: `Stock bas : ${f.product}`,
      paragraphs: [
        `Il ne reste que ${f.stock} unité(s) de « ${f.product} » (seuil d'alerte : ` +
        `${f.threshold}).`,
        "Pensez à réapprovisionner ce produit.",
      ],
    }),
    deadJobs: (f) => ({
      subject: `${f.total} tâche(s) abandonnée(s) après échecs`,
      paragraphs: [
        (f.since ? `Depuis le ${f.since}` : `Jusqu'au ${f.until}`) +
        `, ${f.total} tâche(s) ont épuisé leurs tentatives et ne seront plus relancées ` +
        "automatiquement.",
      ],
    }),
    queueLine: (queue, count) => `File « ${queue} » : ${count}`,
    jobLine: (id, queue, subject, error) =>
      `Tâche ${id} (${queue}${subject ? `, ${subject}` : ""}) : ${error ?? "sans message"}`,
    more: (count) => `… et ${count} autre(s).`,
    footer: (shop) => `Alerte automatique de ${shop}.`,
  },
};

const en: Messages = {
  greeting: (name) => (name ? `Hello ${name},` : "Hello,"),
  signOff: "See you soon,",
  labelled: (label) => `${label}:`,
  total: "Total",
  items: "Your order",
  item: (quantity, name, amount) => `${quantity} × ${name} (${amount})`,
  customer: {
    order_confirmation: (f) => ({
      subject: `Order #${f.order} received`,
      paragraphs: [
        `Thank you! Your order #${f.order}, placed on ${f.orderedAt}, is in.`,
        "We will let you know as soon as it is ready for pickup.",
      ],
    }),
    payment_reminder: (f) => ({
      subject: `Order #${f.order}: payment pending`,
      paragraphs: [
        `Your order #${f.order} (${f.total}), placed on ${f.orderedAt}, is still waiting for ` +
        "its payment. We will prepare it as soon as the payment reaches us.",
        "If you have just paid, this message crossed your payment: there is nothing else to do.",
      ],
    }),
    ready_pickup: (f) => ({
      subject: `Order #${f.order} is ready for pickup`,
      paragraphs: [
        `Good news: your order #${f.order} is ready. You can collect it at the shop during ` +
        "opening hours.",
        "Just give your name or the order number at the counter.",
      ],
    }),
    pickup_reminder: (f) => ({
      subject: `Order #${f.order} is still waiting for you`,
      paragraphs: [
        `Your order #${f.order} has been ready since ${f.readyAt ?? f.orderedAt} and is ` +
        "waiting for you at the shop.",
        "If you cannot come and collect it, reply to us and we will sort something out.",
      ],
    }),
    satisfaction: (f) => ({
      subject: `Are you happy with order #${f.order}?`,
      paragraphs: [
        `You have collected your order #${f.order}: we hope everything is to your liking.`,
        "A problem with an item? Tell us and we will put it right.",
      ],
    }),
    review_request: (f) => ({
      subject: `Your opinion on order #${f.order}`,
      paragraphs: [
        `A few days have passed since your order #${f.order}. What did you think of it?`,
      ],
    }),
    review_thanks: (f) => ({
      subject: `Thank you for reviewing order #${f.order}`,
      paragraphs: [
        "Thank you for taking the time to answer: your review is recorded.",
        "It helps us serve you better.",
      ],
    }),
    review_question: (f) => ({
      subject: `Your mark for order #${f.order}`,
      paragraphs: [
        "Thank you for your message! We could not read a mark in it, though.",
        `Could you reply with a number from 1 to 5 (e.g. 4 or ${STARS(4)})?`,
      ],
    }),
  },
  reviewReplyHint: `Simply reply to this message with a mark from 1 to 5, e.g. 4 or ${STARS(4)}, ` +
    "and a comment if you like.",
  ratingLinks: {
    intro: "Pick your mark with one click:",
    label: (rating) => `${rating}/5 ${"★".repeat(rating)}`,
    note: "Each link opens a page where you confirm your mark: nothing is recorded before.",
  },
  alerts: {
    lowReview: (f) => ({
      subject: `Low review: ${f.rating}/5` + (f.order === null ? "" : ` for order #${f.order}`),
      paragraphs: [
        `${f.customer || "A customer"} gave a mark of ${f.rating}/5` +
        (f.order === null ? "." : ` to order #${f.order}.`),
        f.comment ? `Their comment: “${f.comment}”` : "No comment.",
        "Getting in touch with this customer quickly may save the day.",
      ],
    }),
    lowStock: (f) => ({
      subject: `Low stock: ${f.product}`,
      paragraphs: [
        `Only ${f.stock} unit(s) of “${f.product}” left (alert threshold: ${f.threshold}).`,
        "Consider restocking this product.",
      ],
    }),
    deadJobs: (f) => ({
      subject: `${f.total} job(s) gave up after failures`,
      paragraphs: [
        (f.since ? `Since ${f.since}` : `Up to ${f.until}`) +
        `, ${f.total} job(s) used up their attempts and will not be retried automatically.`,
      ],
    }),
    queueLine: (queue, count) => `Queue “${queue}”: ${count}`,
    jobLine: (id, queue, subject, error) =>
      `Job ${id} (${queue}${subject ? `, ${subject}` : ""}): ${error ?? "no message"}`,
    more: (count) => `… and ${count} more.`,
    footer: (shop) => `Automatic alert from ${shop}.`,
  },
};

const ALL: Record<Locale, Messages> = { fr, en };

/**
 * The words of `locale`.
 *
 * @example
 * messages("en").customer.ready_pickup({ order: 42, total: "€12.50", orderedAt: "…", readyAt: null })
 *   .subject; // "Order #42 is ready for pickup"
 */
export function messages(locale: Locale): Messages {
  return ALL[locale];
}
