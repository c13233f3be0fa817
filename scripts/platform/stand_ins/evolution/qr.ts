/**
 * QR codes of the Evolution API stand-in: a code text shaped like the ones WhatsApp Web pairs
 * with (`2@<ref>,<noise key>,<identity key>,<adv secret>`, random base64 parts) and its PNG data
 * URL, drawn by the `qrcode` npm package with the options Evolution uses (margin 3, scale 4,
 * error correction H), so the page shows a real, scannable QR image. The PNG is written
 * grayscale and unfiltered: the same image at less than half the CPU (about 11 ms instead of
 * 25 ms here), which matters when a burst creates a thousand instances on the machine whose
 * figures the benchmarks measure.
 */
import QRCode from "qrcode";

const toDataUrl = QRCode.toDataURL as (
  text: string,
  opts: {
    margin: number;
    scale: number;
    errorCorrectionLevel: "H";
    /** pngjs options: colorType 0 = grayscale, filterType 0 = no per-row filter search. */
    rendererOpts: { colorType: 0; filterType: 0 };
  },
) => Promise<string>;

function randomBase64(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf));
}

/** A fresh pairing code text, different each time. */
export function newQrCodeText(): string {
  return `2@${randomBase64(48)},${randomBase64(32)},${randomBase64(32)},${randomBase64(32)}`;
}

/** The PNG data URL (`data:image/png;base64,...`) of a QR code for `text`. */
export function qrDataUrl(text: string): Promise<string> {
  return toDataUrl(text, {
    margin: 3,
    scale: 4,
    errorCorrectionLevel: "H",
    rendererOpts: { colorType: 0, filterType: 0 },
  });
}
