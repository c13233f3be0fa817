/**
 * Every sentence the waitlist shows to patients, in French (the default) and English.
 * Sentences are plain text: emails and pages escape them like any other value. Words that
 * label the email buttons ("Accepter", "Refuser") appear nowhere else in an email, so that a
 * browser test can find each button by its text.
 */
import type { Locale } from "../i18n/locale.ts";

/** A page's heading and paragraphs. */
export interface PageText {
  heading: string;
  paragraphs: string[];
}

/** A confirmation page: its text and the label of the button that POSTs the answer. */
export interface ConfirmPageText extends PageText {
  button: string;
}

/** All the words of one language. */
export interface Messages {
  /** "Bonjour Marie," or, without a first name, "Bonjour,". */
  greeting(firstName: string): string;
  /** Labels of the slot details, in display order. */
  slot: {
    date: string;
    time: string;
    practitioner: string;
    appointmentType: string;
    clinic: string;
  };
  /** A label followed by its colon: "Date :" in French, "Date:" in English. */
  labelled(label: string): string;
  invitation: {
    subject(when: string): string;
    intro: string;
    firstCome: string;
    expires(when: string): string;
    linksConfirm: string;
    accept: string;
    decline: string;
    signOff: string;
  };
  booking: {
    subject(when: string): string;
    intro: string;
    cancelNotice: string;
    signOff: string;
  };
  pages: {
    confirmAccept: ConfirmPageText;
    confirmDecline: ConfirmPageText;
    booked: PageText;
    declined: PageText;
    alreadyTaken: PageText;
    timeConflict: PageText;
    expired: PageText;
    withdrawn: PageText;
    /** `paragraphs` is used when the earlier answer is not known. */
    alreadyAnswered: PageText & { accepted: string; declined: string };
    unknown: PageText;
    invalid: PageText;
    unavailable: PageText;
  };
}

const fr: Messages = {
  greeting: (firstName) => (firstName ? `Bonjour ${firstName},` : "Bonjour,"),
  slot: {
    date: "Date",
    time: "Heure",
    practitioner: "Avec",
    appointmentType: "Rendez-vous",
    clinic: "Cabinet",
  },
  labelled: (label) => `${label} :`,
  invitation: {
    subject: (when) => `Un créneau s'est libéré : ${when}`,
    intro: "Un créneau vient de se libérer et vous êtes sur notre liste d'attente. " +
      "Souhaitez-vous le réserver ?",
    firstCome: "Premier arrivé, premier servi : le créneau revient à la première personne " +
      "qui confirme.",
    expires: (when) => `Cette invitation expire le ${when}.`,
    linksConfirm: "Chaque lien ouvre une page de confirmation : rien n'est enregistré tant " +
      "que vous n'avez pas confirmé.",
    accept: "Accepter",
    decline: "Refuser",
    signOff: "Bien cordialement,",
  },
  booking: {
    subject: (when) => `Rendez-vous confirmé : ${when}`,
    intro: "Votre rendez-vous est confirmé. En voici le détail :",
    cancelNotice: "Si vous ne pouvez pas venir, merci de prévenir le cabinet au plus tôt " +
      "pour que le créneau profite à une autre personne.",
    signOff: "À bientôt,",
  },
  pages: {
    confirmAccept: {
      heading: "Réserver ce créneau ?",
      paragraphs: [
        "Pour réserver ce rendez-vous, confirmez ci-dessous. Premier arrivé, premier " +
        "servi : le créneau revient à la première personne qui confirme.",
      ],
      button: "Confirmer le rendez-vous",
    },
    confirmDecline: {
      heading: "Refuser ce créneau ?",
      paragraphs: [
        "Confirmez ci-dessous que ce créneau ne vous convient pas. Vous resterez sur la " +
        "liste d'attente.",
      ],
      button: "Confirmer le refus",
    },
    booked: {
      heading: "Votre rendez-vous est confirmé",
      paragraphs: [
        "Merci, ce créneau est à vous. Vous allez recevoir un e-mail de confirmation.",
        "Si vous ne pouvez pas venir, merci de prévenir le cabinet au plus tôt.",
      ],
    },
    declined: {
      heading: "Votre réponse est enregistrée",
      paragraphs: [
        "Vous avez refusé ce créneau. Vous restez sur la liste d'attente : nous vous " +
        "écrirons si un autre créneau se libère.",
      ],
    },
    alreadyTaken: {
      heading: "Ce créneau vient d'être pris",
      paragraphs: [
        "Une autre personne l'a réservé juste avant vous. Vous restez sur la liste " +
        "d'attente : nous vous écrirons si un autre créneau se libère.",
      ],
    },
    timeConflict: {
      heading: "Vous avez déjà un rendez-vous à cette heure-là",
      paragraphs: [
        "Ce créneau n'a pas été réservé : il chevauche un autre de vos rendez-vous. Si vous " +
        "préférez celui-ci, annulez d'abord l'autre puis reprenez ce lien, tant que le créneau " +
        "est libre. Vous restez sur la liste d'attente.",
      ],
    },
    expired: {
      heading: "Cette invitation a expiré",
      paragraphs: [
        "Le délai pour répondre est dépassé : ce créneau ne peut plus être réservé avec " +
        "ce lien.",
      ],
    },
    withdrawn: {
      heading: "Ce créneau n'est plus disponible",
      paragraphs: [
        "Le cabinet l'a retiré : il ne peut plus être réservé. Veuillez nous excuser " +
        "pour ce contretemps.",
      ],
    },
    alreadyAnswered: {
      heading: "Vous avez déjà répondu",
      paragraphs: ["Votre réponse à cette invitation est déjà enregistrée."],
      accepted: "Vous avez déjà accepté ce créneau. Votre réponse est enregistrée, vous " +
        "n'avez rien d'autre à faire.",
      declined: "Vous avez déjà refusé ce créneau. Votre réponse est enregistrée, vous " +
        "n'avez rien d'autre à faire.",
    },
    unknown: {
      heading: "Lien introuvable",
      paragraphs: [
        "Ce lien ne correspond à aucune invitation. Vérifiez que vous l'avez ouvert " +
        "depuis l'e-mail reçu, sans le modifier.",
      ],
    },
    invalid: {
      heading: "Lien invalide",
      paragraphs: [
        "Ce lien est incomplet ou abîmé. Ouvrez-le directement depuis l'e-mail reçu, ou " +
        "copiez l'adresse en entier.",
      ],
    },
    unavailable: {
      heading: "Service momentanément indisponible",
      paragraphs: [
        "Rien n'a été enregistré. Veuillez réessayer dans quelques minutes avec le même lien.",
      ],
    },
  },
};

const en: Messages = {
  greeting: (firstName) => (firstName ? `Hello ${firstName},` : "Hello,"),
  slot: {
    date: "Date",
    time: "Time",
    practitioner: "With",
    appointmentType: "Appointment",
    clinic: "Clinic",
  },
  labelled: (label) => `${label}:`,
  invitation: {
    subject: (when) => `A slot has opened up: ${when}`,
    intro: "A slot has just become available and you are on our waiting list. " +
      "Would you like to book it?",
    firstCome: "First come, first served: the slot goes to the first person to confirm.",
    expires: (when) => `This invitation expires on ${when}.`,
    linksConfirm: "Each link opens a confirmation page: nothing is recorded until you confirm.",
    accept: "Accept",
    decline: "Decline",
    signOff: "Kind regards,",
  },
  booking: {
    subject: (when) => `Appointment confirmed: ${when}`,
    intro: "Your appointment is confirmed. Here are the details:",
    cancelNotice: "If you cannot come, please let the clinic know as soon as possible so " +
      "that someone else can have the slot.",
    signOff: "See you soon,",
  },
  pages: {
    confirmAccept: {
      heading: "Book this slot?",
      paragraphs: [
        "To book this appointment, please confirm below. First come, first served: the " +
        "slot goes to the first person to confirm.",
      ],
      button: "Confirm the appointment",
    },
    confirmDecline: {
      heading: "Decline this slot?",
      paragraphs: [
        "Please confirm below that this slot does not suit you. You will stay on the " +
        "waiting list.",
      ],
      button: "Confirm I decline",
    },
    booked: {
      heading: "Your appointment is confirmed",
      paragraphs: [
        "Thank you, the slot is yours. You will receive a confirmation email.",
        "If you cannot come, please let the clinic know as soon as possible.",
      ],
    },
    declined: {
      heading: "Your answer has been recorded",
      paragraphs: [
        "You have declined this slot. You stay on the waiting list: we will write to you " +
        "if another slot becomes available.",
      ],
    },
    alreadyTaken: {
      heading: "This slot has just been taken",
      paragraphs: [
        "Someone else booked it just before you. You stay on the waiting list: we will " +
        "write to you if another slot becomes available.",
      ],
    },
    timeConflict: {
      heading: "You already have an appointment at that time",
      paragraphs: [
        "This slot was not booked: it overlaps another of your appointments. If you prefer " +
        "this one, cancel the other first, then open this link again while the slot is still " +
        "free. You stay on the waiting list.",
      ],
    },
    expired: {
      heading: "This invitation has expired",
      paragraphs: [
        "The time to answer has passed: this slot can no longer be booked with this link.",
      ],
    },
    withdrawn: {
      heading: "This slot is no longer available",
      paragraphs: [
        "The clinic has withdrawn it, so it can no longer be booked. We apologise for the " +
        "inconvenience.",
      ],
    },
    alreadyAnswered: {
      heading: "You have already answered",
      paragraphs: ["Your answer to this invitation has already been recorded."],
      accepted: "You have already accepted this slot. Your answer is recorded; there is " +
        "nothing more to do.",
      declined: "You have already declined this slot. Your answer is recorded; there is " +
        "nothing more to do.",
    },
    unknown: {
      heading: "Link not found",
      paragraphs: [
        "This link does not match any invitation. Please check that you opened it from " +
        "the email, without changing it.",
      ],
    },
    invalid: {
      heading: "Invalid link",
      paragraphs: [
        "This link is incomplete or damaged. Please open it directly from the email, or " +
        "copy the whole address.",
      ],
    },
    unavailable: {
      heading: "Service temporarily unavailable",
      paragraphs: [
        "Nothing has been recorded. Please try again in a few minutes with the same link.",
      ],
    },
  },
};

const MESSAGES: Readonly<Record<Locale, Messages>> = { fr, en };

/**
 * The words of one language.
 *
 * @example
 * messages("en").invitation.accept; // "Accept"
 */
export function messages(locale: Locale): Messages {
  return MESSAGES[locale] ?? MESSAGES.fr;
}
