/**
 * Which browser of an account notifies (issue 21), listed in http.ts's route table after the sync routes.
 * The choice is the account's, so every paired browser reads the same one; under "whichever is open"
 * the server arbitrates: the first browser to claim a notification shows it, the others do not.
 *
 *   GET  /v1/account/notify                → 200 {mode, device, you}
 *   PUT  /v1/account/notify                {mode, device?} → 200 {mode, device, you}
 *   POST /v1/notifications/{key}/claim     → 200 {key, device, claimedAt} to the first browser (and to it again);
 *                                            409 `claimed` {…, device} to every other one
 */
import * as v from 'valibot';
import { HttpError, readJson, sendJson, validate, type Handler } from './http.ts';
import { NOTIFY_MODES } from './store/notify-types.ts';
import { authenticateDevice } from './sync-routes.ts';

/** A hit id, or `<tracker>@<due time>` for a reminder (lib/notify-policy.ts claimKey): no more than that. */
export const CLAIM_KEY = /^[A-Za-z0-9_-]{8,64}(@[0-9]{1,16})?$/;
const DEVICE = /^[0-9a-f]{22}$/;

const PolicyBody = v.object(
  {
    mode: v.picklist(NOTIFY_MODES, `mode must be one of ${NOTIFY_MODES.join(', ')}`),
    device: v.optional(v.nullable(v.pipe(v.string(), v.regex(DEVICE, 'device must be a device id')))),
  },
  'expected a JSON object {"mode", "device"?}',
);

const getPolicy: Handler = async (ctx) => {
  const { account, device } = await authenticateDevice(ctx);
  sendJson(ctx.res, 200, { ...(await ctx.app.store.notifyPolicy(account)), you: device });
};

const putPolicy: Handler = async (ctx) => {
  const { account, device } = await authenticateDevice(ctx);
  const body = validate(PolicyBody, await readJson(ctx), 'Notify choice');
  if (body.mode === 'one' && !body.device) throw new HttpError(400, 'bad_request', 'Name the browser that notifies (device) when mode is "one".');
  const policy = { mode: body.mode, device: body.mode === 'one' ? body.device! : null };
  if (!(await ctx.app.store.setNotifyPolicy(account, policy))) throw new HttpError(400, 'unknown_device', 'That browser is not on this account (revoked?).');
  sendJson(ctx.res, 200, { ...policy, you: device });
};

const claim: Handler = async (ctx) => {
  const { account, device } = await authenticateDevice(ctx);
  const key = ctx.params.key ?? '';
  if (!CLAIM_KEY.test(key)) throw new HttpError(400, 'bad_key', 'A claim key is a hit id, or a tracker id and a due time as <tracker>@<ms>.');
  const outcome = await ctx.app.store.claimNotification(account, key, device, Date.now());
  if (!outcome.won) {
    sendJson(ctx.res, 409, { error: 'claimed', message: 'Another browser of this account already showed this notification.', key, device: outcome.device, claimedAt: outcome.claimedAt });
    return;
  }
  sendJson(ctx.res, 200, { key, device: outcome.device, claimedAt: outcome.claimedAt });
};

export const NOTIFY_ROUTES: Array<[Array<'GET' | 'POST' | 'PUT'>, string, string, Handler]> = [
  [['GET'], '/v1/account/notify', 'account/notify', getPolicy],
  [['PUT'], '/v1/account/notify', 'account/notify', putPolicy],
  [['POST'], '/v1/notifications/:key/claim', 'notifications/claim', claim],
];
