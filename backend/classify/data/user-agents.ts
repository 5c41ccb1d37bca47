/**
 * User-agent signatures the classifier knows (STYLE §9).
 *
 * A signature decides who is fetching; what that means can still depend on the
 * network (`owners`): a provider proxy or Apple MPP is believed only from its
 * operator's networks (./networks.ts roles), anywhere else it is a forgery.
 *
 * Each `pattern` is a JavaScript RegExp source, compiled once at start-up
 * (case-sensitive: these strings are machine-made and exact). Every signature
 * carries real examples from its source; tests/unit/classify-data.test.ts
 * checks that each example matches its own signature and no other one, so the
 * order of this list does not matter. Keep it sorted by `id`.
 *
 * Anything no signature matches is a browser or an unknown program: the
 * engine then asks `isbot` as the last resort, and ua-parser-js for names.
 */
import type { NetworkRole } from './networks.ts';

export type SignatureRole =
  /** A provider's image proxy that fetches when a person opens the message. */
  | 'proxy'
  /** A mail system fetching on delivery, no person involved. */
  | 'prefetch'
  /** A mail program a person reads with, fetching directly. */
  | 'mail-client'
  /** A security product or link checker. */
  | 'scanner'
  /** A script, HTTP library or headless browser. */
  | 'tool';

export interface UaSignature {
  id: string;
  pattern: string;
  role: SignatureRole;
  /** The intermediary to report as `via`. */
  via?: string;
  /** Believed only from networks with one of these roles; elsewhere the user-agent is forged. */
  owners?: readonly NetworkRole[];
  /** The program, as a user reads it; os/device when the signature alone tells. */
  client: { name: string; os?: string; device?: string };
  /** Real user-agents from the source. */
  examples: readonly string[];
  source: string;
  checked: string;
}

const CHECKED = '2026-11-27';

export const UA_SIGNATURES: readonly UaSignature[] = [
  {
    id: 'android-webview-mail',
    // The "; wv)" token marks Android System WebView, which Android mail apps render HTML in.
    pattern: String.raw`^Mozilla/5\.0 \(Linux; Android [^)]*; wv\) AppleWebKit/`,
    role: 'mail-client',
    client: { name: 'an Android mail app', os: 'Android', device: 'mobile' },
    examples: [
      'Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36',
    ],
    source: 'developer.chrome.com/docs/multidevice/user-agent ("wv" marks the Android WebView user-agent)',
    checked: CHECKED,
  },
  {
    id: 'apple-mail-ios',
    // iOS Mail renders with WebKit and, unlike Safari, sends no Version/ or Safari/ token.
    pattern: String.raw`^Mozilla/5\.0 \((?:iPhone|iPad|iPod)[^)]*\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\) Mobile/\w+$`,
    role: 'mail-client',
    client: { name: 'Apple Mail' },
    examples: [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
    ],
    source: 'RESEARCH §1: iOS Mail "… AppleWebKit/… (KHTML, like Gecko) Mobile/<build>" with no Safari token (ua-parser/uap-core #528)',
    checked: CHECKED,
  },
  {
    id: 'apple-mail-macos',
    pattern: String.raw`^Mozilla/5\.0 \(Macintosh; Intel Mac OS X [\d_]+\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\)$`,
    role: 'mail-client',
    client: { name: 'Apple Mail', os: 'macOS', device: 'desktop' },
    examples: ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)'],
    source: 'ua-parser/uap-core #528 (Apple Mail with Privacy Protection off: no Safari token)',
    checked: CHECKED,
  },
  {
    id: 'apple-mpp',
    // Exactly this and nothing more since iOS 15 / macOS 12 (2021-09-20).
    pattern: String.raw`^Mozilla/5\.0$`,
    role: 'prefetch',
    via: 'apple-mpp',
    owners: ['apple', 'private-relay'],
    client: { name: 'Apple Mail' },
    examples: ['Mozilla/5.0'],
    source: 'ua-parser/uap-core #509 (MPP user-agent is "Mozilla/5.0"); egress via Apple AS714 and Private Relay operators (blog.apnic.net 2023-01-25); ESP rule: SendGrid sg_machine_open, Klaviyo "Apple Privacy Open"',
    checked: CHECKED,
  },
  {
    id: 'barracuda-sentinel',
    pattern: String.raw`^Barracuda Sentinel\b`,
    role: 'scanner',
    via: 'barracuda',
    client: { name: 'Barracuda Sentinel' },
    examples: ['Barracuda Sentinel (EE)'],
    source: 'matomo-org/device-detector regexes/bots.yml "Barracuda Sentinel"; Braze bot-click filter examples',
    checked: CHECKED,
  },
  {
    id: 'curl',
    pattern: String.raw`^curl/\d`,
    role: 'tool',
    client: { name: 'curl' },
    examples: ['curl/8.5.0', 'curl/7.68.0'],
    source: 'curl.se docs (default user-agent "curl/VERSION")',
    checked: CHECKED,
  },
  {
    id: 'fastmail-proxy',
    // Fastmail's image proxy appends its own token to an ordinary Chrome user agent.
    pattern: String.raw` FastmailUA/\d`,
    role: 'proxy',
    via: 'fastmail-proxy',
    owners: ['fastmail'],
    client: { name: 'Fastmail' },
    examples: ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.117 Safari/537.36 FastmailUA/1.0'],
    source: 'fastmail.com/policies/bots (image proxy user agent "… FastmailUA/1.0", fetched when the user opens the message); RESEARCH §7',
    checked: '2026-12-07',
  },
  {
    id: 'gmail-prefetch',
    // The trailing " Mozilla/5.0" after Edge/12.246 is what sets it apart from a real (2015) Edge.
    pattern: String.raw`^Mozilla/5\.0 \(Windows NT 10\.0; Win64; x64\) AppleWebKit/537\.36 \(KHTML, like Gecko\) Chrome/42\.0\.2311\.135 Safari/537\.36 Edge/12\.246 Mozilla/5\.0$`,
    role: 'prefetch',
    via: 'gmail-prefetch',
    owners: ['google'],
    client: { name: 'Gmail' },
    examples: [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0',
    ],
    source: 'sparkpost.com/blog/gmail-prefetching-images (2021); gmass.co/blog/false-opens-in-gmail (2018)',
    checked: CHECKED,
  },
  {
    id: 'gmail-proxy',
    pattern: String.raw`\(via ggpht\.com GoogleImageProxy\)`,
    role: 'proxy',
    via: 'gmail-proxy',
    owners: ['google'],
    client: { name: 'Gmail' },
    examples: ['Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'],
    source: 'scientiamobile.com "What is Google Image Proxy"; matomo-org/device-detector regexes/bots.yml; fetched on open: googlesystem.blogspot.com 2013-12, wordtothewise.com 2014-03',
    checked: CHECKED,
  },
  {
    id: 'go-http-client',
    pattern: String.raw`^Go-http-client/\d`,
    role: 'tool',
    client: { name: 'a Go program' },
    examples: ['Go-http-client/1.1', 'Go-http-client/2.0'],
    source: 'pkg.go.dev/net/http (default User-Agent "Go-http-client/1.1")',
    checked: CHECKED,
  },
  {
    id: 'headless-chrome',
    pattern: String.raw`\bHeadlessChrome/\d`,
    role: 'tool',
    client: { name: 'Headless Chrome' },
    examples: ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36'],
    source: 'developer.chrome.com/docs/chromium/headless (headless mode reports HeadlessChrome in its user-agent)',
    checked: CHECKED,
  },
  {
    id: 'hey-proxy',
    // HEY publishes no ranges for it (no `owners`): believed anywhere but rented servers and gateways (network.ts fromOperator).
    pattern: String.raw`^hey\.com/imageproxy `,
    role: 'proxy',
    via: 'hey-proxy',
    client: { name: 'HEY' },
    examples: ['hey.com/imageproxy Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36'],
    source: 'hey.com/image-proxy (HEY fetches the images of e-mails its users view, user agent "hey.com/imageproxy Mozilla/5.0 …"; HEY publishes no ranges); RESEARCH §7',
    checked: '2026-12-07',
  },
  {
    id: 'java-http',
    pattern: String.raw`^(?:Java/\d|Apache-HttpClient/\d)`,
    role: 'tool',
    client: { name: 'a Java program' },
    examples: ['Java/17.0.2', 'Apache-HttpClient/4.5.13 (Java/11.0.16)'],
    source: 'docs.oracle.com HttpURLConnection default "Java/<version>"; hc.apache.org HttpClient default user-agent',
    checked: CHECKED,
  },
  {
    id: 'ms-office-existence-discovery',
    // HEAD-style link check made by Office, not a rendering of the message.
    pattern: String.raw`^Microsoft Office Existence Discovery$`,
    role: 'scanner',
    via: 'microsoft-office',
    client: { name: 'Microsoft Office link check' },
    examples: ['Microsoft Office Existence Discovery'],
    source: 'learn.microsoft.com (MSDN) "Microsoft Office Existence Discovery" requests; RESEARCH §1',
    checked: CHECKED,
  },
  {
    id: 'node-http',
    pattern: String.raw`^(?:node-fetch(?:/\d|$)|axios/\d|undici$|node$)`,
    role: 'tool',
    client: { name: 'a Node.js script' },
    examples: ['node-fetch/1.0 (+https://github.com/bitinn/node-fetch)', 'axios/1.6.2', 'node'],
    source: 'node-fetch README (default user-agent); axios lib/adapters/http.js ("axios/" + VERSION); Node.js fetch (undici) sends "node"',
    checked: CHECKED,
  },
  {
    id: 'outlook-android',
    pattern: String.raw`\bOutlook-Android/\d`,
    role: 'mail-client',
    client: { name: 'Outlook', os: 'Android', device: 'mobile' },
    examples: ['Outlook-Android/2.0'],
    source: 'learn.microsoft.com "Securing Outlook for iOS and Android in Exchange Online" (UserAgent Outlook-Android/2.0)',
    checked: CHECKED,
  },
  {
    id: 'outlook-desktop',
    pattern: String.raw`^Microsoft Office/\d+\.\d+ \([^)]*Microsoft Outlook \d`,
    role: 'mail-client',
    client: { name: 'Outlook', os: 'Windows', device: 'desktop' },
    examples: [
      'Microsoft Office/16.0 (Microsoft Outlook 16.0.12329; Pro), Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
      'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)',
    ],
    source: 'matomo-org/device-detector Tests/fixtures (mail clients: Outlook)',
    checked: CHECKED,
  },
  {
    id: 'outlook-ios',
    pattern: String.raw`\bOutlook-iOS/\d`,
    role: 'mail-client',
    client: { name: 'Outlook', os: 'iOS', device: 'mobile' },
    examples: ['Outlook-iOS/2.0', 'Outlook-iOS/709.2189947.prod.iphone (3.24.0)'],
    source: 'learn.microsoft.com "Securing Outlook for iOS and Android in Exchange Online" (UserAgent Outlook-iOS/2.0)',
    checked: CHECKED,
  },
  {
    id: 'outlook-mac',
    pattern: String.raw`^MacOutlook/\d`,
    role: 'mail-client',
    client: { name: 'Outlook', os: 'macOS', device: 'desktop' },
    examples: ['MacOutlook/16.78.23120117 (Intelx64 Mac OS X 14.1.1 (Build 23B81))'],
    source: 'matomo-org/device-detector Tests/fixtures (mail clients: MacOutlook)',
    checked: CHECKED,
  },
  {
    id: 'python-http',
    pattern: String.raw`^(?:python-requests/\d|Python-urllib/\d|python-httpx/\d|Python/[\d.]+ aiohttp/\d)`,
    role: 'tool',
    client: { name: 'a Python script' },
    examples: ['python-requests/2.31.0', 'Python-urllib/3.11', 'python-httpx/0.27.0', 'Python/3.10 aiohttp/3.8.1'],
    source: 'requests.readthedocs.io (default_user_agent "python-requests/x"); docs.python.org urllib.request ("Python-urllib/x.y"); httpx and aiohttp defaults',
    checked: CHECKED,
  },
  {
    id: 'thunderbird',
    pattern: String.raw`\bThunderbird/\d`,
    role: 'mail-client',
    client: { name: 'Thunderbird', device: 'desktop' },
    examples: ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0'],
    source: 'matomo-org/device-detector Tests/fixtures (mail clients: Thunderbird); RESEARCH §1',
    checked: CHECKED,
  },
  {
    id: 'wget',
    pattern: String.raw`^Wget/\d`,
    role: 'tool',
    client: { name: 'Wget' },
    examples: ['Wget/1.21.4'],
    source: 'gnu.org/software/wget/manual ("Wget/version" identification)',
    checked: CHECKED,
  },
  {
    id: 'yahoo-proxy',
    pattern: String.raw`^YahooMailProxy\b`,
    role: 'proxy',
    via: 'yahoo-proxy',
    owners: ['yahoo'],
    client: { name: 'Yahoo Mail' },
    examples: ['YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html'],
    source: 'matomo-org/device-detector regexes/bots.yml; shared Yahoo/AOL proxy since 2018 (litmus.com/help "spike in Yahoo! Mail opens"); validity.com on Yahoo image caching',
    checked: CHECKED,
  },
];
