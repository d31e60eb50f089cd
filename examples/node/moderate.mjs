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
function moderate(form, request) {
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

const submissions = [
  { comment_id: "node-1", comment: "Interesting article, I hope he gets a fair hearing.", name: "Ana", email: "ana@mail.example", website: "", honeypot: "", secondsOnPage: 95 },
  { comment_id: "node-2", comment: "Check out my channel and subscribe!!! http://bit.ly/xyz", name: "Promo", email: "promo@spam.example", website: "http://bit.ly/xyz", honeypot: "", secondsOnPage: 2 },
];
for (const form of submissions) {
  const answer = await moderate(form, { ip: "203.0.113.7", userAgent: "Mozilla/5.0", permalink: "https://news.example/bus-routes", postTitle: "Council approves the new bus routes" });
  // The site acts on the comment's status, which follows the verdict for a
  // new comment and a moderator's label once one was given.
  const action = { REVIEW_STATUS_APPROVED: "publish", REVIEW_STATUS_PENDING: "hold for a moderator", REVIEW_STATUS_REJECTED: "refuse" }[answer.status];
  console.log(`${form.comment_id}: ${answer.verdict} (score ${answer.score.toFixed(3)}) -> ${action}`);
  for (const reason of answer.reasons.slice(0, 3)) console.log(`  ${reason.message}`);
}
client.close();
