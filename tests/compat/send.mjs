// send.mjs - sends events to fnhost with Inngest's own JS SDK, unchanged,
// the way an Inngest user would. tests/integration/inngest_client.sh runs
// it from $FNHOST_BUILD/compat, beside the node_modules that `npm ci`
// installed from this folder's package-lock.json.
// SPDX-License-Identifier: Apache-2.0
//
//   node send.mjs options   new Inngest({ id, eventKey: $KEY, baseUrl: $FNHOST_URL })
//   node send.mjs env       new Inngest({ id }): the SDK reads INNGEST_BASE_URL,
//                           INNGEST_EVENT_KEY, INNGEST_DEV itself (self-host:
//                           INNGEST_DEV=0 + INNGEST_BASE_URL + INNGEST_EVENT_KEY;
//                           dev mode: INNGEST_DEV=<url>)
//
// TAG (optional) goes into every event's data so the caller can find them.
// STEPS (optional, default "one,two,reserved") picks the sends, in order:
//   one       inngest.send({...}): one event
//   two       inngest.send([...]): an array of two, one with a sender's id
//   reserved  a reserved name ("inngest/x") that fnhost must refuse
//   lost      one event whose first answer is lost on the way back (the
//             request reached fnhost; the SDK sees "fetch failed" and
//             retries with the same body and x-inngest-event-id-seed)
//
// Prints one JSON object:
//   { "sdk": "inngest-js:v3.35.1",
//     "one":      { "ids": [...], "error": null, "requests": [REQ...] },
//     "two":      { ... the array of two ... },
//     "reserved": { "ids": null, "error": "Inngest API Error: 400 ...", ... } }
// REQ is what went over the wire: { url, headers, events, status, response }.
// The SDK's own fetch path is kept: it binds the global fetch when the
// client is made, so recording wraps globalThis.fetch before that and passes
// every call through untouched, 30 ms late: the SDK has stamped "ts" with
// its Date.now() by then, so a stored ts equal to the ts on the wire is the
// SDK's and not fnhost's receive time.
import { Inngest } from "inngest";

const log = [];
let loseNext = false;
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
    const rec = { url: String(input instanceof Request ? input.url : input) };
    rec.method = init.method ?? "GET";
    rec.headers = Object.fromEntries(
        [...new Headers(init.headers ?? {}).entries()]);
    try {
        rec.events = JSON.parse(init.body);
    } catch {
        rec.events = init.body ?? null;
    }
    log.push(rec);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const res = await realFetch(input, init);
    rec.status = res.status;
    const text = await res.clone().text();
    try {
        rec.response = JSON.parse(text);
    } catch {
        rec.response = text;
    }
    if (loseNext) {
        loseNext = false;
        rec.lost = true;
        throw new TypeError("fetch failed (answer lost by send.mjs)");
    }
    return res;
};

const mode = process.argv[2] ?? "options";
let inngest;
if (mode === "options") {
    inngest = new Inngest({
        id: "fnhost-compat",
        eventKey: process.env.KEY,
        baseUrl: process.env.FNHOST_URL,
    });
} else if (mode === "env") {
    inngest = new Inngest({ id: "fnhost-compat" });
} else {
    console.error(`usage: node send.mjs options|env (got ${mode})`);
    process.exit(2);
}

const tag = process.env.TAG ?? `t${Date.now()}`;

async function attempt(payload) {
    const first = log.length;
    const out = { ids: null, error: null };
    try {
        out.ids = (await inngest.send(payload)).ids;
    } catch (err) {
        out.error = err instanceof Error ? err.message : String(err);
    }
    out.requests = log.slice(first);
    return out;
}

const steps = {
    one: () => attempt({
        name: "test/echo",
        data: { tag, n: 1, text: "h\u00e9llo \u2713" },
    }),
    two: () => attempt([
        { name: "test/echo", data: { tag, n: 2, nested: { list: [1, 2, 3] } } },
        // A sender's id (Inngest's idempotency key) and a wildcard trigger.
        { name: "test/wild.sdk", id: `${tag}-three`, data: { tag, n: 3 } },
    ]),
    reserved: () => attempt({ name: "inngest/x", data: { tag } }),
    lost: () => {
        loseNext = true;
        return attempt({ name: "test/echo", data: { tag, n: 4 } });
    },
};

const result = {};
for (const step of (process.env.STEPS ?? "one,two,reserved").split(",")) {
    if (!(step in steps)) {
        console.error(`send.mjs: unknown step ${step}`);
        process.exit(2);
    }
    result[step] = await steps[step]();
}
result.sdk = (log[0]?.headers ?? {})["x-inngest-sdk"] ?? null;
process.stdout.write(JSON.stringify(result) + "\n");
