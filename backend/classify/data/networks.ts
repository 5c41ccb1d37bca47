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
 * - `google`, `yahoo`: owners of an image proxy. A proxy's user-agent is believed
 *   only from its owner's network; from anywhere else it is a forgery.
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
 * Keep sorted by `asn`, one entry per ASN (tests/unit/classify-data.test.ts).
 */
export type NetworkRole = 'google' | 'yahoo' | 'apple' | 'private-relay' | 'security' | 'hosting';

export interface NetworkEntry {
  asn: number;
  org: string;
  role: NetworkRole;
  /** For `security`: the vendor, as the user should read it, and the `via` to report. */
  vendor?: { name: string; via: string };
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

export const NETWORKS: readonly NetworkEntry[] = [
  { asn: 714, org: 'Apple Inc.', role: 'apple',
    source: `Apple's main network, commonly cited as an MPP source (ClickDimensions, SendGrid machine-open docs); ${ASN_DB} "Apple Inc." (17.0.0.0/8)`, checked: CHECKED },
  { asn: 5779, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 6185, org: 'Apple Inc.', role: 'apple', source: `${ASN_DB} "Apple Inc." (parts of 17.253.0.0/16)`, checked: CHECKED },
  { asn: 7280, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 8075, org: 'Microsoft Corporation', role: 'hosting',
    source: `Azure virtual machines share Microsoft's AS; ${ASN_DB} "Microsoft Corporation". Its Exchange Online ranges are in NETWORK_PREFIXES`,
    checked: CHECKED },
  { asn: 10229, org: 'Yahoo Inc.', role: 'yahoo', source: `${ASN_DB} "Yahoo Inc."`, checked: CHECKED },
  { asn: 10310, org: 'Oath Holdings Inc.', role: 'yahoo',
    source: `Yahoo's main AS; ${ASN_DB} "Oath Holdings Inc." (e.g. 2001:4998::/32, 87.248.107.0/24)`, checked: CHECKED },
  { asn: 10880, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 12876, org: 'Scaleway SAS', role: 'hosting', source: `Scaleway cloud; ${ASN_DB} "Scaleway SAS"`, checked: CHECKED },
  { asn: 13335, org: 'Cloudflare, Inc.', role: 'private-relay',
    source: 'iCloud Private Relay egress operator (blog.apnic.net 2023-01-25 "iCloud Private Relay"; openstreetmap/operations#709)', checked: CHECKED },
  { asn: 14061, org: 'DigitalOcean, LLC', role: 'hosting', source: `DigitalOcean droplets; ${ASN_DB} "DigitalOcean, LLC"`, checked: CHECKED },
  { asn: 14618, org: 'Amazon.com, Inc.', role: 'hosting', source: `AWS (us-east-1 EC2, ip-ranges.json); ${ASN_DB} "Amazon.com, Inc."`, checked: CHECKED },
  { asn: 14777, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:14::/48)`, checked: CHECKED },
  { asn: 15169, org: 'Google LLC', role: 'google',
    source: 'GoogleImageProxy fetches from Google AS15169, e.g. 66.249.64.0/19, 66.102.0.0/20, 74.125.0.0/16 (goog.json; scientiamobile.com "What is Google Image Proxy")',
    checked: CHECKED },
  { asn: 15324, org: 'Barracuda Networks, Inc.', role: 'security', vendor: BARRACUDA,
    source: `Barracuda e-mail security gateway; ${ASN_DB} "Barracuda Networks, Inc." (64.235.144.0/20)`, checked: CHECKED },
  { asn: 15635, org: 'Yahoo-UK Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo-UK Limited" (87.248.104.0/24)`, checked: CHECKED },
  { asn: 16276, org: 'OVH SAS', role: 'hosting', source: `OVHcloud servers; ${ASN_DB} "OVH SAS"`, checked: CHECKED },
  { asn: 16509, org: 'Amazon.com, Inc.', role: 'hosting', source: `AWS EC2 (ip-ranges.json); ${ASN_DB} "Amazon.com, Inc."`, checked: CHECKED },
  { asn: 20473, org: 'The Constant Company, LLC', role: 'hosting', source: `Vultr cloud; ${ASN_DB} "The Constant Company, LLC"`, checked: CHECKED },
  { asn: 22843, org: 'Proofpoint, Inc.', role: 'security', vendor: PROOFPOINT,
    source: `Proofpoint e-mail protection (RESEARCH §1: gateways with ordinary browser user-agents); ${ASN_DB} "Proofpoint, Inc."`, checked: CHECKED },
  { asn: 24940, org: 'Hetzner Online GmbH', role: 'hosting', source: `Hetzner servers; ${ASN_DB} "Hetzner Online GmbH"`, checked: CHECKED },
  { asn: 26101, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (Yahoo/AOL)`, checked: CHECKED },
  { asn: 26211, org: 'Proofpoint, Inc.', role: 'security', vendor: PROOFPOINT,
    source: `Proofpoint e-mail protection (RESEARCH §1); ${ASN_DB} "Proofpoint, Inc." (67.231.144.0/21, 148.163.128.0/17 parts)`, checked: CHECKED },
  { asn: 30031, org: 'Mimecast North America Inc', role: 'security', vendor: MIMECAST,
    source: `Mimecast e-mail security gateway (RESEARCH §1); ${ASN_DB} "Mimecast North America Inc"`, checked: CHECKED },
  { asn: 31898, org: 'Oracle Corporation', role: 'hosting', source: `Oracle Cloud; ${ASN_DB} "Oracle Corporation"`, checked: CHECKED },
  { asn: 34010, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.96.0/21)`, checked: CHECKED },
  { asn: 36088, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:18::/48)`, checked: CHECKED },
  { asn: 36183, org: 'Akamai Technologies, Inc.', role: 'private-relay',
    source: 'Akamai\'s iCloud Private Relay AS (blog.apnic.net 2023-01-25; openstreetmap/operations#709); e.g. 172.224.0.0/12 parts, 2a02:26f7::/32 parts', checked: CHECKED },
  { asn: 36229, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:28::/48)`, checked: CHECKED },
  { asn: 36646, org: 'Oath Holdings Inc.', role: 'yahoo', source: 'Yahoo/AOL network (RESEARCH §1, Yahoo\'s network is AS36646 among others)', checked: CHECKED },
  { asn: 36647, org: 'Oath Holdings Inc.', role: 'yahoo', source: `${ASN_DB} "Oath Holdings Inc." (2001:4998:c::/46)`, checked: CHECKED },
  { asn: 42427, org: 'Mimecast Services Limited', role: 'security', vendor: MIMECAST,
    source: `Mimecast e-mail security gateway (UK); ${ASN_DB} "Mimecast Services Limited"`, checked: CHECKED },
  { asn: 43428, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.112.0/24)`, checked: CHECKED },
  { asn: 45102, org: 'Alibaba (US) Technology Co., Ltd.', role: 'hosting', source: `Alibaba Cloud; ${ASN_DB} "Alibaba (US) Technology Co., Ltd."`, checked: CHECKED },
  { asn: 51167, org: 'Contabo GmbH', role: 'hosting', source: `Contabo VPS; ${ASN_DB} "Contabo GmbH"`, checked: CHECKED },
  { asn: 54113, org: 'Fastly, Inc.', role: 'private-relay',
    source: 'iCloud Private Relay egress operator (blog.apnic.net 2023-01-25; openstreetmap/operations#709)', checked: CHECKED },
  { asn: 60781, org: 'LeaseWeb Netherlands B.V.', role: 'hosting', source: `LeaseWeb servers; ${ASN_DB} "LeaseWeb Netherlands B.V."`, checked: CHECKED },
  { asn: 63949, org: 'Akamai Technologies, Inc.', role: 'hosting', source: `Linode (Akamai Connected Cloud); ${ASN_DB} "Akamai Technologies, Inc."`, checked: CHECKED },
  { asn: 132203, org: 'Shenzhen Tencent Computer Systems Company Limited', role: 'hosting', source: `Tencent Cloud; ${ASN_DB} "Shenzhen Tencent Computer Systems Company Limited"`, checked: CHECKED },
  { asn: 203219, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.113.0/24)`, checked: CHECKED },
  { asn: 203220, org: 'Yahoo! UK Services Limited', role: 'yahoo', source: `${ASN_DB} "Yahoo! UK Services Limited" (87.248.105.0/24)`, checked: CHECKED },
  { asn: 396982, org: 'Google LLC', role: 'hosting',
    source: `Google Cloud customers' VMs (not Gmail's proxy, which is AS15169); ${ASN_DB} "Google LLC"`, checked: CHECKED },
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
  vendor?: { name: string; via: string };
  source: string;
  checked: string;
}

/** Microsoft documents these as Exchange Online (mail flow and service) ranges. */
const EXCHANGE_ONLINE =
  'learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges (Exchange Online; mirrored by MISP misp-warninglists microsoft-office365-ip). Defender for Office 365 Safe Links / Safe Attachments scan from Microsoft ranges within seconds of delivery (suped.com "automatic opens and clicks on Office 365 hosted recipient domains")';

export const NETWORK_PREFIXES: readonly NetworkPrefix[] = [
  { cidr: '104.47.0.0/17', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '132.245.0.0/16', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '2a01:111:f400::/48', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '2a01:111:f403::/48', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '40.104.0.0/15', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '40.107.0.0/16', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '40.92.0.0/15', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '40.96.0.0/13', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '52.100.0.0/14', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
  { cidr: '52.96.0.0/14', asn: 8075, role: 'security', vendor: MICROSOFT, source: EXCHANGE_ONLINE, checked: CHECKED },
];
