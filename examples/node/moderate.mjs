// A news site's "Leave a Reply" handler in Node.js: before publishing a
// reader's comment, ask moderato, then publish, hold or refuse it.
// Run: npm ci && MODERATO_TOKEN=$(cat ../../data/admin.token) node moderate.mjs
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import path from "node:path";

const protoDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const definition = protoLoader.loadSync("moderation/v1/service.proto", {
  includeDirs: [protoDirectory], keepCase: true, defaults: true, enums: String,
});
const { Moderation } = grpc.loadPackageDefinition(definition).moderation.v1;
const client = new Moderation(process.env.MODERATO_ADDRESS || "127.0.0.1:50051", grpc.credentials.createInsecure());

// What the comment form posted, and what the site knows about the request.
function checkOnce(form, request) {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", "Bearer " + process.env.MODERATO_TOKEN);
  const message = {
    site_id: "news.example",
    comment_id: form.comment_id,
    content: form.comment,
    author: { name: form.name, email: form.email, url: form.website, ip: request.ip, user_agent: request.userAgent },
    context: { permalink: request.permalink, post_title: request.postTitle },
    form: { honeypot: form.honeypot, seconds_on_page: form.secondsOnPage },
  };
  return new Promise((resolve, reject) => {
    client.CheckComment(message, metadata, { deadline: Date.now() + 2000 }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

// The site acts on the comment's status, which follows the verdict for a
// new comment and a moderator's label once one was given.
const ACTIONS = { REVIEW_STATUS_APPROVED: "publish", REVIEW_STATUS_PENDING: "hold for a moderator", REVIEW_STATUS_REJECTED: "refuse" };

// Asks moderato and says what to do with the comment. A busy service sheds
// a call (RESOURCE_EXHAUSTED) and a restarting one is briefly UNAVAILABLE:
// the call is sent again after a short, growing pause, which is safe since
// the comment id makes it idempotent (the same comment is not stored
// twice). If moderato still cannot answer, the comment is held for a
// moderator rather than published unchecked or lost. A comment whose text
// moderato refuses (INVALID_ARGUMENT naming `content`: empty, too long)
// goes back to the reader with the service's message; any other error (no
// answer in time, DEADLINE_EXCEEDED; a wrong key, UNAUTHENTICATED or
// PERMISSION_DENIED; another field the site filled wrongly) is logged for
// the site's operator while the comment waits.
async function moderate(form, request) {
  const retried = [grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNAVAILABLE];
  for (let attempt = 0; ; attempt++) {
    try {
      const answer = await checkOnce(form, request);
      return { action: ACTIONS[answer.status], answer };
    } catch (error) {
      if (retried.includes(error.code) && attempt < 3) {
        await new Promise((resume) => setTimeout(resume, 100 * 2 ** attempt));
        continue;
      }
      if (error.code === grpc.status.INVALID_ARGUMENT && error.details.startsWith("content ")) {
        return { action: "ask the reader to change it: " + error.details };
      }
      console.error(`moderato could not check ${form.comment_id}: ${grpc.status[error.code]}: ${error.details}`);
      return { action: "hold for a moderator (moderato could not check it)" };
    }
  }
}

const submissions = [
  { comment_id: "node-1", comment: "Interesting article, I hope he gets a fair hearing.", name: "Ana", email: "ana@mail.example", website: "", honeypot: "", secondsOnPage: 95 },
  { comment_id: "node-2", comment: "Check out my channel and subscribe!!! http://bit.ly/xyz", name: "Promo", email: "promo@spam.example", website: "http://bit.ly/xyz", honeypot: "", secondsOnPage: 2 },
  // A form sent with nothing written: moderato refuses it, naming the field.
  { comment_id: "node-3", comment: "   ", name: "Ana", email: "ana@mail.example", website: "", honeypot: "", secondsOnPage: 4 },
];
for (const form of submissions) {
  const { action, answer } = await moderate(form, { ip: "203.0.113.7", userAgent: "Mozilla/5.0", permalink: "https://news.example/bus-routes", postTitle: "Council approves the new bus routes" });
  if (!answer) { console.log(`${form.comment_id}: ${action}`); continue; }
  console.log(`${form.comment_id}: ${answer.verdict} (score ${answer.score.toFixed(3)}) -> ${action}`);
  for (const reason of answer.reasons.slice(0, 3)) console.log(`  ${reason.message}`);
}
client.close();
