/**
 * Networks the classifier knows by autonomous system number, and a few
 * prefixes inside an AS that mean something else than the AS as a whole
 * (STYLE §9).
 *
 * The ASN of a hit comes from the server's offline IP data (@ip-location-db/asn,
 * RouteViews + DB-IP, CC BY 4.0), looked up on the kept /24 or /48 prefix. Each
 * entry says what fetches from that network mean; `org` is the holder as that
 * dataset names it, so a reader can check the entry against it.
 *
 * Roles:
 * - `google`, `yahoo`, `fastmail`: owners of an image proxy. A proxy's user-agent
 *   is believed only from its owner's network; from anywhere else it is a
 *   forgery. Google's own network comes from its published lists (goog.json
 *   minus cloud.json, ../network.ts), not from AS15169, which also announces
 *   Google Cloud customers' space.
 * - `hey`: HEY's network (its image proxy publishes no ranges; see ../index.ts).
 * - `proton`: Proton Mail, whose proxy pre-loads remote images on delivery.
 * - `apple`, `private-relay`: where Apple Mail Privacy Protection fetches come
 *   from (Apple itself, and the iCloud Private Relay egress operators).
 * - `security`: e-mail security vendors whose gateways and sandboxes fetch
 *   images to scan them; any ordinary-looking fetch from there is their scanner.
 * - `hosting`: cloud and hosting providers. People do not read mail from a
 *   server; scanners, link checkers and scripts run there.
 *
 * Deliberately absent: Zscaler and similar forward proxies (people browse
 * through them, so their hits are real opens), VPN-centric hosters, and CDN
 * networks (Cloudflare AS13335 also carries WARP users; listed here only as a
 * Private Relay operator, which matters only for the bare MPP user-agent).
 *
 * Published lists (./lists/*.txt: iCloud Private Relay, Google, Google Cloud,
 * Microsoft 365, Apple, Proofpoint) take precedence over this table; see
 * ../network.ts. The AS entries cover what no list publishes.
 *
 * Keep sorted by `asn`, one entry per ASN (tests/unit/classify-data.test.ts).
 */
export type NetworkRole =
  | 'google' | 'yahoo' | 'fastmail' | 'hey' | 'proton' | 'apple' | 'private-relay' | 'security' | 'hosting';

/** A security vendor as the user should read it, and the `via` to report. */
export interface Vendor {
  name: string;
  via: string;
}

export interface NetworkEntry {
  asn: number;
  org: string;
  role: NetworkRole;
  /** For `security`: the vendor, as the user should read it, and the `via` to report. */
  vendor?: Vendor;
  /** Where the fact comes from (a public page or dataset). */
  source: string;
  /** When the fact was last checked (YYYY-MM-DD). */
  checked: string;
}

const ASN_DB = '@ip-location-db/asn asn-ipv4.csv/asn-ipv6.csv (RouteViews + DB-IP) names this AS';
const CHECKED = '2026-11-27';

const MICROSOFT = { name: 'Microsoft', via: 'microsoft-defender' };
const PROOFPOINT = { name: 'Proofpoint', via: 'proofpoint' };
const MIMECAST = { name: 'Mimecast', via: 'mimecast' };
const BARRACUDA = { name: 'Barracuda', via: 'barracuda' };
const CISCO = { name: 'Cisco Secure Email', via: 'cisco' };
const TREND_MICRO = { name: 'Trend Micro', via: 'trend-micro' };
const ZIX = { name: 'Zix', via: 'zix' };
const HORNETSECURITY = { name: 'Hornetsecurity', via: 'hornetsecurity' };
const APPRIVER = { name: 'AppRiver', via: 'appriver' };
const SYMANTEC = { name: 'Symantec Email Security', via: 'symantec' };
const RETARUS = { name: 'Retarus', via: 'retarus' };
const CHECKED_DEC = '2026-12-07';
/** Regional networks named in Mimecast's "Data Centers and URLs" page (RESEARCH §7; owned ranges since 2022–23, mimecastsupport.zendesk.com Administration FAQ). */
const MIMECAST_REGIONS = 'Mimecast "Data Centers and URLs" regional ranges (excelmicro.kayako.com article 384; mimecastsupport.zendesk.com Administration FAQ on the 2022-23 move to owned ranges; RESEARCH §7)';
const PROTON = 'Proton Mail pre-loads remote images through a proxy with a generic IP address (proton.me/support/email-tracker-protection: "We also pre-load other remote images on your behalf using a proxy"); Proton AG ASes per RESEARCH §7';

export const NETWORKS: readonly NetworkEntry[] = [
  { asn: 714, org: 'Apple Inc.', role: 'apple',
    source: `Apple's main network, commonly cited as an MPP source (ClickDimensions, SendGrid machine-open docs); ${ASN_DB} "Apple Inc." (17.0.0.0/8)`, checked: CHECKED },
  { asn: 5779, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 6185, org: 'Apple Inc.', role: 'apple', source: `${ASN_DB} "Apple Inc." (parts of 17.253.0.0/16)`, checked: CHECKED },
  { asn: 7280, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 7583, org: 'MessageLabs - Now Part of Symantec', role: 'security', vendor: SYMANTEC,
    source: `Symantec (Broadcom) Email Security.cloud, formerly MessageLabs; ${ASN_DB} "MessageLabs - Now Part of Symantec"`, checked: CHECKED_DEC },
  { asn: 8068, org: 'Microsoft Corporation', role: 'security', vendor: MICROSOFT,
    source: `Microsoft 365 front ends (RESEARCH §7: the Microsoft 365 endpoint list sits in AS8075, 8068 and 8069; e.g. 13.107.128.0/22 in that list); ${ASN_DB} "Microsoft Corporation"`, checked: CHECKED_DEC },
  { asn: 8069, org: 'Microsoft Corporation', role: 'security', vendor: MICROSOFT,
    source: `Microsoft 365 service network (RESEARCH §7: ASes 8075, 8068, 8069 of the Microsoft 365 endpoint list); ${ASN_DB} "Microsoft Corporation"`, checked: CHECKED_DEC },
  { asn: 8075, org: 'Microsoft Corporation', role: 'hosting',
    source: `Azure virtual machines share Microsoft's AS; ${ASN_DB} "Microsoft Corporation". its Microsoft 365 ranges come from the published list (lists/microsoft-365.txt, ../network.ts)`,
    checked: CHECKED },
  { asn: 10229, org: 'Yahoo Inc.', role: 'yahoo', source: `${ASN_DB} "Yahoo Inc."`, checked: CHECKED },
  { asn: 10310, org: 'Oath Holdings Inc.', role: 'yahoo',
    source: `Yahoo's main AS; ${ASN_DB} "Oath Holdings Inc." (e.g. 2001:4998::/32, 87.248.107.0/24)`, checked: CHECKED },
  { asn: 10880, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 12876, org: 'Scaleway SAS', role: 'hosting', source: `Scaleway cloud; ${ASN_DB} "Scaleway SAS"`, checked: CHECKED },
  { asn: 13335, org: 'Cloudflare, Inc.', role: 'private-relay',
    source: 'iCloud Private Relay egress operator (blog.apnic.net 2023-01-25 "iCloud Private Relay"; openstreetmap/operations#709)', checked: CHECKED },
  { asn: 13380, org: 'Zix Corporation', role: 'security', vendor: ZIX, source: `Zix e-mail security and encryption (now OpenText); ${ASN_DB} "Zix Corporation"`, checked: CHECKED_DEC },
  { asn: 13916, org: 'Proofpoint, Inc.', role: 'security', vendor: PROOFPOINT,
    source: `Proofpoint (RESEARCH §7: AS13916, e.g. 148.163.128.0/22); ${ASN_DB} "Proofpoint, Inc."`, checked: CHECKED_DEC },
  { asn: 14061, org: 'DigitalOcean, LLC', role: 'hosting', source: `DigitalOcean droplets; ${ASN_DB} "DigitalOcean, LLC"`, checked: CHECKED },
  { asn: 14618, org: 'Amazon.com, Inc.', role: 'hosting', source: `AWS (us-east-1 EC2, ip-ranges.json); ${ASN_DB} "Amazon.com, Inc."`, checked: CHECKED },
  { asn: 14777, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:14::/48)`, checked: CHECKED },
  { asn: 15324, org: 'Barracuda Networks, Inc.', role: 'security', vendor: BARRACUDA,
    source: `Barracuda e-mail security gateway; ${ASN_DB} "Barracuda Networks, Inc." (64.235.144.0/20)`, checked: CHECKED },
  { asn: 15635, org: 'Yahoo-UK Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo-UK Limited" (87.248.104.0/24)`, checked: CHECKED },
  { asn: 16276, org: 'OVH SAS', role: 'hosting', source: `OVHcloud servers; ${ASN_DB} "OVH SAS"`, checked: CHECKED },
  { asn: 16417, org: 'Cisco Systems Ironport Division', role: 'security', vendor: CISCO,
    source: `Cisco Secure Email (IronPort) cloud gateways; ${ASN_DB} "Cisco Systems Ironport Division" (only the IronPort ASes: Cisco's other networks carry people)`, checked: CHECKED_DEC },
  { asn: 16509, org: 'Amazon.com, Inc.', role: 'hosting', source: `AWS EC2 (ip-ranges.json); ${ASN_DB} "Amazon.com, Inc."`, checked: CHECKED },
  { asn: 16880, org: 'TREND MICRO INCORPORATED', role: 'security', vendor: TREND_MICRO,
    source: `Trend Micro e-mail security (Hosted Email Security / Email Security cloud); ${ASN_DB} "TREND MICRO INCORPORATED"`, checked: CHECKED_DEC },
  { asn: 20473, org: 'The Constant Company, LLC', role: 'hosting', source: `Vultr cloud; ${ASN_DB} "The Constant Company, LLC"`, checked: CHECKED },
  { asn: 22843, org: 'Proofpoint, Inc.', role: 'security', vendor: PROOFPOINT,
    source: `Proofpoint e-mail protection (RESEARCH §1: gateways with ordinary browser user-agents); ${ASN_DB} "Proofpoint, Inc."`, checked: CHECKED },
  { asn: 24940, org: 'Hetzner Online GmbH', role: 'hosting', source: `Hetzner servers; ${ASN_DB} "Hetzner Online GmbH"`, checked: CHECKED },
  { asn: 25657, org: 'Basecamp, LLC', role: 'hey', source: `HEY is made by 37signals (formerly Basecamp), which runs its own servers; ${ASN_DB} "Basecamp, LLC". HEY publishes no proxy ranges (hey.com/image-proxy)`, checked: CHECKED_DEC },
  { asn: 26101, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 26211, org: 'Proofpoint, Inc.', role: 'security', vendor: PROOFPOINT,
    source: `Proofpoint e-mail protection (RESEARCH §1); ${ASN_DB} "Proofpoint, Inc." (67.231.144.0/21, 148.163.128.0/17 parts)`, checked: CHECKED },
  { asn: 30031, org: 'Mimecast North America Inc', role: 'security', vendor: MIMECAST,
    source: `Mimecast e-mail security gateway (RESEARCH §1); ${ASN_DB} "Mimecast North America Inc"`, checked: CHECKED },
  { asn: 30215, org: 'Cisco Systems Ironport Division', role: 'security', vendor: CISCO, source: `Cisco Secure Email (IronPort); ${ASN_DB} "Cisco Systems Ironport Division"`, checked: CHECKED_DEC },
  { asn: 30238, org: 'Cisco Systems Ironport Division', role: 'security', vendor: CISCO, source: `Cisco Secure Email (IronPort); ${ASN_DB} "Cisco Systems Ironport Division"`, checked: CHECKED_DEC },
  { asn: 31898, org: 'Oracle Corporation', role: 'hosting', source: `Oracle Cloud; ${ASN_DB} "Oracle Corporation"`, checked: CHECKED },
  { asn: 33538, org: 'Mimecast North America Inc', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast North America Inc"`, checked: CHECKED_DEC },
  { asn: 34010, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.96.0/21)`, checked: CHECKED },
  { asn: 36088, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:18::/48)`, checked: CHECKED },
  { asn: 36183, org: 'Akamai Technologies, Inc.', role: 'private-relay',
    source: 'Akamai\'s iCloud Private Relay AS (blog.apnic.net 2023-01-25; openstreetmap/operations#709); e.g. 172.224.0.0/12 parts, 2a02:26f7::/32 parts', checked: CHECKED },
  { asn: 36229, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:28::/48)`, checked: CHECKED },
  { asn: 36646, org: 'Oath Holdings Inc.', role: 'yahoo', source: 'Yahoo/AOL network (RESEARCH §1, Yahoo\'s network is AS36646 among others)', checked: CHECKED },
  { asn: 36647, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:c::/46)`, checked: CHECKED },
  { asn: 37235, org: 'Mimecast South Africa', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast South Africa"`, checked: CHECKED_DEC },
  { asn: 39588, org: 'Mimecast Services Limited', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast Services Limited"`, checked: CHECKED_DEC },
  { asn: 40427, org: 'Cisco Systems Ironport Division', role: 'security', vendor: CISCO, source: `Cisco Secure Email (IronPort); ${ASN_DB} "Cisco Systems Ironport Division"`, checked: CHECKED_DEC },
  { asn: 42427, org: 'Mimecast Services Limited', role: 'security', vendor: MIMECAST,
    source: `Mimecast e-mail security gateway (UK); ${ASN_DB} "Mimecast Services Limited"`, checked: CHECKED },
  { asn: 43428, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.112.0/24)`, checked: CHECKED },
  { asn: 45102, org: 'Alibaba (US) Technology Co., Ltd.', role: 'hosting', source: `Alibaba Cloud; ${ASN_DB} "Alibaba (US) Technology Co., Ltd."`, checked: CHECKED },
  { asn: 48328, org: 'retarus GmbH', role: 'security', vendor: RETARUS, source: `Retarus E-Mail Security; ${ASN_DB} "retarus GmbH"`, checked: CHECKED_DEC },
  { asn: 51167, org: 'Contabo GmbH', role: 'hosting', source: `Contabo VPS; ${ASN_DB} "Contabo GmbH"`, checked: CHECKED },
  { asn: 52129, org: 'Proofpoint, Inc.', role: 'security', vendor: PROOFPOINT,
    source: `Proofpoint (RESEARCH §7: AS52129, e.g. 91.209.104.0/24; proofpoint.my.site.com/support/PPSup_SupportInfo lists its ranges); ${ASN_DB} "Proofpoint, Inc."`, checked: CHECKED_DEC },
  { asn: 53780, org: 'APPRIVER LLC', role: 'security', vendor: APPRIVER, source: `AppRiver (Zix) e-mail filtering; ${ASN_DB} "APPRIVER LLC"`, checked: CHECKED_DEC },
  { asn: 54113, org: 'Fastly, Inc.', role: 'private-relay',
    source: 'iCloud Private Relay egress operator (blog.apnic.net 2023-01-25; openstreetmap/operations#709)', checked: CHECKED },
  { asn: 60492, org: 'Mimecast Services Limited', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast Services Limited"`, checked: CHECKED_DEC },
  { asn: 60781, org: 'LeaseWeb Netherlands B.V.', role: 'hosting', source: `LeaseWeb servers; ${ASN_DB} "LeaseWeb Netherlands B.V."`, checked: CHECKED },
  { asn: 62371, org: 'Proton AG', role: 'proton', source: `${PROTON}; ${ASN_DB} "Proton AG"`, checked: CHECKED_DEC },
  { asn: 63949, org: 'Akamai Technologies, Inc.', role: 'hosting', source: `Linode (Akamai Connected Cloud); ${ASN_DB} "Akamai Technologies, Inc."`, checked: CHECKED },
  { asn: 132203, org: 'Shenzhen Tencent Computer Systems Company Limited', role: 'hosting', source: `Tencent Cloud; ${ASN_DB} "Shenzhen Tencent Computer Systems Company Limited"`, checked: CHECKED },
  { asn: 132229, org: 'Trend Micro, Inc.', role: 'security', vendor: TREND_MICRO, source: `Trend Micro e-mail security; ${ASN_DB} "Trend Micro, Inc."`, checked: CHECKED_DEC },
  { asn: 136792, org: 'Mimecast Australia Pty Ltd', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast Australia Pty Ltd"`, checked: CHECKED_DEC },
  { asn: 151847, org: 'Fastmail', role: 'fastmail',
    source: `Fastmail's image proxy fetches when the user opens (fastmail.com/policies/bots: user agent "… FastmailUA/1.0"); ${ASN_DB} "Fastmail" (103.168.172.0/24)`, checked: CHECKED_DEC },
  { asn: 199218, org: 'Proton AG', role: 'proton', source: `${PROTON}; ${ASN_DB} "Proton AG"`, checked: CHECKED_DEC },
  { asn: 203219, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.113.0/24)`, checked: CHECKED },
  { asn: 203220, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.105.0/24)`, checked: CHECKED },
  { asn: 208172, org: 'Proton AG', role: 'proton', source: `${PROTON}; ${ASN_DB} "Proton AG"`, checked: CHECKED_DEC },
  { asn: 208638, org: 'Mimecast Services Limited', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast Services Limited"`, checked: CHECKED_DEC },
  { asn: 209103, org: 'Proton AG', role: 'proton', source: `${PROTON}; ${ASN_DB} "Proton AG"`, checked: CHECKED_DEC },
  { asn: 396982, org: 'Google LLC', role: 'hosting',
    source: `Google Cloud customers' VMs (not Gmail's proxy, which is AS15169); ${ASN_DB} "Google LLC"`, checked: CHECKED },
  { asn: 397726, org: 'Mimecast North America Inc', role: 'security', vendor: MIMECAST, source: `${MIMECAST_REGIONS}; ${ASN_DB} "Mimecast North America Inc"`, checked: CHECKED_DEC },
  { asn: 401943, org: 'Hornetsecurity', role: 'security', vendor: HORNETSECURITY, source: `Hornetsecurity e-mail security cloud; ${ASN_DB} "Hornetsecurity"`, checked: CHECKED_DEC },
];

/**
 * Prefixes that override their AS's entry: a client prefix (the kept /24 or
 * /48) inside one of these takes this role. Keep sorted by `asn`, then
 * `cidr`; each prefix lies in its `asn` in the offline data (tested).
 */
export interface NetworkPrefix {
  cidr: string;
  asn: number;
  role: NetworkRole;
  vendor?: Vendor;
  source: string;
  checked: string;
}

export const NETWORK_PREFIXES: readonly NetworkPrefix[] = [
  { cidr: '64.147.123.0/24', asn: 11403, role: 'fastmail',
    source: 'Fastmail\'s mail service (messagingengine.com) inside NYI\'s network: public mail headers show wout1–5-smtp.messagingengine.com and wnew4-smtp.messagingengine.com at 64.147.123.18–25 (vger.kernel.org, lists.freedesktop.org archives 2020–2023)', checked: CHECKED_DEC },
  { cidr: '66.111.4.0/24', asn: 11403, role: 'fastmail',
    source: 'Fastmail\'s own range inside NYI\'s network (RESEARCH §7: Fastmail AS151847, 66.111.4.0/24; fastmail.com/policies/bots)', checked: CHECKED_DEC },
];
