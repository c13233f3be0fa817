/**
 * Fixtures for the review-reply tests on the running test platform, on top of the shop's
 * (`./shop.ts`: the shop's open instance, customers, waits on messages): a picked-up order
 * whose review request the `shop` worker really sends (WhatsApp through the shop's instance, or
 * email with the rating links), a customer writing on the Evolution stand-in, and waits on what
 * the reply job recorded.
 *
 * ```ts
 * const t = await startShopTest();
 * const customer = await t.customer();
 * const orderId = await requestReview(t, customer);          // sent by WhatsApp
 * const inbound = await customerWrites(t, customer, "4 très bien");
 * const reply = await waitForReply(t.sql, inbound);           // { outcome: "review", ... }
 * ```
 */
import type postgres from "postgres";
import { evolution, type ShopTest, type TestCustomer } from "./shop.ts";
import { waitFor } from "./wait.ts";

/** A `shop_review_replies` row as the tests read it. */
export interface ReplyRow {
  inbound_id: number;
  order_id: number;
  outcome: string;
  rating: number | null;
  comment: string | null;
}

/**
 * Inserts an order picked up yesterday (not yet due for the daily run, which therefore leaves
 * it alone), its review request and the review_request message, then waits until the worker
 * has sent it. Returns the order's id.
 */
export async function requestReview(t: ShopTest, customer: TestCustomer): Promise<number> {
  const orderId = await t.sql.begin(async (tx: postgres.TransactionSql) => {
    const [order] = await tx<{ id: number }[]>`
      insert into public.orders (customer_id, status, picked_up_at)
      values (${customer.id}, 'picked_up', now() - interval '1 day') returning id`;
    await tx`insert into public.review_requests (order_id, customer_id, requested_at)
      values (${order.id}, ${customer.id}, now())`;
    await tx`update public.review_requests
      set message_id = shop_internal.schedule_message(${order.id}, 'review_request', now())
      where order_id = ${order.id}`;
    return Number(order.id);
  });
  const message = await t.waitForMessage(orderId, "review_request");
  if (message.status !== "sent") {
    throw new Error(
      `The review request of order ${orderId} was not sent: ${JSON.stringify(message)}`,
    );
  }
  return orderId;
}

/**
 * The customer writes `text` to the shop's instance on the Evolution stand-in (which posts
 * `messages.upsert` to evolution-webhook). Returns the stored inbound message's id, once stored.
 */
export async function customerWrites(
  t: ShopTest,
  customer: TestCustomer,
  text: string,
): Promise<number> {
  if (!t.instance || !customer.whatsapp_number) {
    throw new Error("The shop needs an open instance and the customer a WhatsApp number");
  }
  const sent = await evolution.customerMessage(t.instance, {
    from: customer.whatsapp_number,
    text,
    pushName: customer.name.slice(0, 100),
  });
  const key = (sent as { key?: { id?: string } }).key?.id;
  if (!key) throw new Error(`The stand-in answered no message id: ${JSON.stringify(sent)}`);
  return await waitFor(async () => {
    const [row] = await t.sql<{ id: number }[]>`
      select id from public.whatsapp_inbound_messages
      where instance_name = ${t.instance} and message_id = ${key}`;
    return row ? Number(row.id) : undefined;
  }, { timeoutMs: 15_000, intervalMs: 50, what: `inbound message ${key} stored` });
}

/** Waits until the reply job has recorded what inbound message `inboundId` did. */
export function waitForReply(sql: postgres.Sql, inboundId: number): Promise<ReplyRow> {
  return waitFor(async () => {
    await sql`select jobs.drain('shop')`;
    const [row] = await sql<ReplyRow[]>`
      select inbound_id, order_id, outcome, rating, comment from public.shop_review_replies
      where inbound_id = ${inboundId}`;
    return row
      ? { ...row, inbound_id: Number(row.inbound_id), order_id: Number(row.order_id) }
      : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100, what: `the reply of inbound message ${inboundId}` });
}

/** The order's review, if any. */
export async function reviewOf(
  sql: postgres.Sql,
  orderId: number,
): Promise<{ id: number; rating: number; comment: string | null; channel: string } | undefined> {
  const [row] = await sql<
    { id: number; rating: number; comment: string | null; channel: string }[]
  >`
    select id, rating, comment, channel from public.reviews where order_id = ${orderId}`;
  return row;
}
