// Drives the dashboard in Debian's headless Chromium (playwright-core, no
// browser download): node dashboard.mjs BASE_URL TOKEN SCREENSHOT.png IDS...
// The page must ask for the token, then show every stream streaming with its
// picture; Stop and Start work; a bad stream shows its error; Remove removes.
// Prints what it saw as JSON; exits non-zero at the first thing that fails.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, token, screenshot, ...ids] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "rtsp-ingest-chromium-"));
// A fresh profile each run (Playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const seen = { requests: [], consoleErrors: [], pageErrors: [] };
try {
  const page = await browser.newPage();
  page.on("request", (request) => seen.requests.push(request.url()));
  page.on("console", (message) => { if (message.type() === "error") seen.consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => seen.pageErrors.push(String(error)));
  page.setDefaultTimeout(20000);

  await page.goto(base + "/");
  // It asks for the token, and gets in with it.
  await page.waitForSelector("#login.show");
  await page.fill("#token", token);
  await page.click("#token-form button");

  // Every stream: streaming, with its picture loaded.
  for (const id of ids) {
    await page.waitForSelector(`#stream-${id}[data-state="streaming"] img[data-loaded="1"]`);
  }
  const pictures = await page.$$eval(".stream img", (images) =>
    images.map((img) => ({ alt: img.alt, width: img.naturalWidth, height: img.naturalHeight })));
  for (const id of ids) {
    const picture = pictures.find((p) => p.alt === id);
    if (!picture || picture.width !== 320) throw new Error(`${id}: no 320-wide picture: ${JSON.stringify(pictures)}`);
  }
  // Let the fps column fill in before the picture for the docs.
  await page.waitForFunction(() => [...document.querySelectorAll(".fps")].every((cell) => cell.textContent !== "–"));
  // The simulator dates its frames: glass-to-here shows on every streaming card.
  await page.waitForFunction(() => [...document.querySelectorAll('.stream[data-state="streaming"] .glass')]
    .every((cell) => cell.textContent.endsWith(" ms")));
  // A stream that is not streaming says why on its card.
  await page.waitForFunction(() => [...document.querySelectorAll(".stream")]
    .every((card) => card.dataset.state === "streaming" || card.querySelector(".error").textContent));
  seen.errors = await page.$$eval(".stream", (cards) => Object.fromEntries(cards
    .map((card) => [card.dataset.id, card.querySelector(".error").textContent])));
  await page.screenshot({ path: screenshot, fullPage: true });
  seen.summary = await page.textContent("#summary");

  // Stop and start the first stream with its buttons.
  const first = ids[0];
  await page.click(`#stream-${first} button[data-action="stop"]`);
  await page.waitForSelector(`#stream-${first}[data-state="stopped"]`);
  await page.click(`#stream-${first} button[data-action="start"]`);
  await page.waitForSelector(`#stream-${first}[data-state="streaming"]`);

  // A stream the server refuses: the error shows, naming the field.
  await page.fill('#add input[name="id"]', "bad");
  await page.fill('#add input[name="url"]', "http://camera/live");
  await page.click('#add button[type="submit"]');
  await page.waitForSelector("#banner.show");
  seen.banner = await page.textContent("#banner");
  if (!seen.banner.includes("url")) throw new Error(`banner: ${seen.banner}`);

  // Remove the last stream.
  const last = ids[ids.length - 1];
  await page.click(`#stream-${last} button[data-action="remove"]`);
  await page.waitForSelector(`#stream-${last}`, { state: "detached" });

  // Nothing but the server itself was asked for anything.
  const foreign = seen.requests.filter((url) => !url.startsWith(base) && !url.startsWith("blob:" + base));
  if (foreign.length) throw new Error(`requests elsewhere: ${foreign}`);
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
