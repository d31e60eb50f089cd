// Drives the moderator console in headless Chromium: signs in with a
// moderator token, waits for the queue, checks that each item shows its
// author, reasons and highlighted words, and takes a screenshot. Then it
// scrolls away from the current item (the first) with the mouse and
// presses `a`: nothing may be decided, and the item is brought into view;
// `a` again approves it. It clicks the fourth item's text (it must become
// the current one), moves the cursor up to the third item, rejects the
// second with its button (the cursor must stay on the third), approves the
// third with the keyboard, checks they left the queue and the count of
// waiting items followed, holds `x` down on the last item (the repeats
// must not untick it), then ticks its checkbox and rejects it with the
// keyboard, and reads what the empty queue says. Last, it rejects the
// first comment it approved from "Your last decisions".
// Prints one JSON line with what it saw; exits non-zero with a message
// when something is not as expected.
//
// node console.mjs <console url> <token> <screenshot path>
import { chromium } from "playwright-core";

const [url, token, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

function fail(message) {
  console.error(message);
  process.exit(1);
}

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] }).catch((error) =>
  fail(`cannot start Chromium at ${executablePath} (install Debian's chromium package): ${error.message}`));
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("#queue > li", { timeout: 10000 });
  const before = await page.$$eval("#queue > li", (items) => items.map((item) => item.dataset.decisionId));
  const first = page.locator("#queue > li").first();
  const reasons = await first.locator(".reasons li").count();
  const marks = await page.locator("#queue mark").count();
  const longSMarks = await page.locator("#queue mark", { hasText: "vi\u017fit" }).count();
  const zeroWidthMarks = await page.$$eval("#queue mark", (marks) => marks.filter((mark) => mark.textContent.includes("\u00ad")).length);
  const fullWidthMarks = await page.$$eval("#queue mark", (marks) => marks.filter((mark) => mark.textContent.includes("\uff4d\uff4f\uff4e\uff45\uff59")).length);
  const meta = await first.locator("p.meta").textContent();
  const isolatedInMeta = await first.locator("p.meta bdi").count();
  const totalBefore = await page.textContent("#total");
  // The figures row of the site: precision and recall are the last two.
  await page.waitForSelector("#stats tbody tr", { timeout: 10000 });
  const figures = await page.$$eval("#stats tbody tr:first-child td", (cells) => cells.map((cell) => cell.textContent));
  await page.screenshot({ path: screenshot, fullPage: true });

  // Scrolled away from the current item (the first) with the mouse, `a`
  // decides nothing: it brings the item into view and says so.
  await page.setViewportSize({ width: 1280, height: 240 });
  await page.mouse.move(640, 120);
  await page.mouse.wheel(0, 20000);
  await page.waitForTimeout(500);
  const box = await page.locator(`#item-${before[0]}`).boundingBox();
  const firstInViewBefore = box !== null && box.y + box.height > 0 && box.y < 240;
  await page.locator("body").press("a");
  const statusOutOfView = await page.textContent("#status");
  const stillListed = await page.locator(`#item-${before[0]}`).count();
  // The item is in view now, so the same key pressed again decides it.
  // Waits go through selectors, not page.waitForFunction: the console's
  // content security policy forbids the eval that one uses.
  await page.locator("body").press("a");
  await page.locator(`#item-${before[0]}`).waitFor({ state: "detached", timeout: 10000 });
  const statusSecondPress = await page.textContent("#status");
  await page.setViewportSize({ width: 1280, height: 900 });
  // Within the key's rate of two calls a second.
  await page.waitForTimeout(1100);

  // A click on the fourth item's text makes it the current one; then up
  // to the third, and reject the second with its button.
  await page.locator(`#item-${before[3]} p.content`).click();
  const currentAfterClick = await page.$$eval("#queue > li.current", (items) => items.map((item) => item.dataset.decisionId));
  await page.locator("body").press("k");
  await page.locator(`#item-${before[1]} button.reject`).click();
  await page.locator(`#item-${before[1]}`).waitFor({ state: "detached", timeout: 10000 });
  const currentAfterReject = await page.$$eval("#queue > li.current", (items) => items.map((item) => item.dataset.decisionId));
  // Approve the current item with the keyboard.
  await page.locator("body").press("a");
  await page.locator(`#item-${before[2]}`).waitFor({ state: "detached", timeout: 10000 });
  const status = await page.textContent("#status");
  const totalAfter = await page.textContent("#total");
  const after = await page.$$eval("#queue > li", (items) => items.map((item) => item.dataset.decisionId));
  // Tick the last item's checkbox with the mouse, move the focus onto it
  // (as Tab would), then reject it with a key: the shortcuts must work
  // while a checkbox has the focus.
  const ticked = after[0];
  // `x` held down: the first press ticks the item, the repeats do nothing.
  await page.keyboard.down("x");
  await page.keyboard.down("x");
  await page.keyboard.up("x");
  const selectedButton = await page.textContent("#approve-selected");
  const selectedButtonDisabled = await page.locator("#approve-selected").isDisabled();
  const checkbox = page.locator(`#item-${ticked} input[type=checkbox]`);
  await checkbox.check();
  await checkbox.focus();
  if ((await page.locator("input[type=checkbox]:focus").count()) !== 1) fail("the checkbox did not keep the focus");
  await page.keyboard.press("r");
  await page.locator(`#item-${ticked}`).waitFor({ state: "detached", timeout: 10000 });
  const afterCheckbox = await page.$$eval("#queue > li", (items) => items.map((item) => item.dataset.decisionId));
  await page.locator("#empty").waitFor({ state: "visible", timeout: 10000 });
  const empty = await page.textContent("#empty");
  // "Your last decisions" lists the four, newest first; the first one
  // decided (approved by the second press of `a`) is rejected instead
  // from there.
  await page.click("#recent summary");
  const recent = await page.$$eval("#recent-list li", (items) => items.map((item) => item.dataset.decisionId));
  await page.waitForTimeout(1100);
  // The change is sent with the comment's revision as it was decided, so
  // that a comment edited since is not labelled unseen.
  const resolveBodies = [];
  page.on("request", (request) => { if (request.url().endsWith("/api/resolve")) resolveBodies.push(request.postData()); });
  await page.locator(`#recent-list li[data-decision-id="${before[0]}"] button`).click();
  await page.locator(`#recent-list li[data-decision-id="${before[0]}"] button`, { hasText: "Approve instead" }).waitFor({ timeout: 10000 });
  const recentAfterChange = await page.$$eval("#recent-list li", (items) => items.map((item) => item.dataset.decisionId));
  const statusAfterChange = await page.textContent("#status");
  const recentChangeShown = resolveBodies.length === 1 ? JSON.parse(resolveBodies[0]).shown : null;
  console.log(JSON.stringify({
    before, after, after_checkbox: afterCheckbox, reasons, marks, long_s_marks: longSMarks, zero_width_marks: zeroWidthMarks, full_width_marks: fullWidthMarks,
    meta, isolated_in_meta: isolatedInMeta, status, status_out_of_view: statusOutOfView, still_listed: stillListed,
    status_second_press: statusSecondPress, recent, recent_after_change: recentAfterChange, status_after_change: statusAfterChange, recent_change_shown: recentChangeShown,
    first_in_view_before: firstInViewBefore,
    total_before: totalBefore, total_after: totalAfter, figures, current_after_reject: currentAfterReject,
    current_after_click: currentAfterClick, selected_button: selectedButton, selected_button_disabled: selectedButtonDisabled, empty,
  }));
} catch (error) {
  fail(`the console did not behave: ${error.message}`);
} finally {
  await browser.close();
}
