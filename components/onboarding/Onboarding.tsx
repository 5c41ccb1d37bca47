/** The setup page opened on install (entrypoints/onboarding): what OpenPing learns, the server, the checklist. */
import type { OnboardingModel } from '../../lib/state/onboarding';
import { Checklist } from './Checklist';

// The page's words in one table, for the browser's i18n (STYLE §14).
const TEXT = {
  title: 'Set up OpenPing',
  intro:
    'OpenPing adds a Track switch next to Send in Gmail and Outlook on the web. A tracked message carries an invisible image from your tracking server; when it is loaded, OpenPing tells you whether a person opened the message or a machine fetched it.',
  learnsTitle: 'What the tracking server learns',
  learns: [
    'that a tracked message’s image was fetched, and when;',
    'from which network: only the /24 (IPv4) or /48 (IPv6) prefix, its provider and a coarse place;',
    'the fetching program’s description (its user-agent), to tell people from machines.',
  ],
  notLearnsTitle: 'What it never learns',
  notLearns: [
    'subjects, recipients or the text of your mail — they stay in this browser;',
    'your mailbox: OpenPing asks for no mail permissions and reads no inbox on a server;',
    'full network addresses: the server keeps only the prefix.',
  ],
  serverTitle: 'Your tracking server',
  serverHint:
    'Recipients’ mail clients load the image from this server, so it must be on a public https address. Use the one this build came with, or the address of your own.',
  serverLabel: 'Server address',
  use: 'Use this server',
  optionsLink: 'All settings',
} as const;

export function Onboarding({ model }: { model: OnboardingModel }) {
  const notice = model.notice.value;
  return (
    <main class="options onboarding" data-openping="onboarding">
      <h1>{TEXT.title}</h1>
      <p>{TEXT.intro}</p>
      <div class="learns">
        <section>
          <h2>{TEXT.learnsTitle}</h2>
          <ul>
            {TEXT.learns.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </section>
        <section>
          <h2>{TEXT.notLearnsTitle}</h2>
          <ul>
            {TEXT.notLearns.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </section>
      </div>

      <section>
        <h2>{TEXT.serverTitle}</h2>
        <p class="hint">{TEXT.serverHint}</p>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void model.useServer();
          }}
        >
          <label>
            {TEXT.serverLabel}
            <input
              type="text"
              inputMode="url"
              name="server"
              value={model.serverDraft.value}
              aria-invalid={notice?.kind === 'error' ? 'true' : undefined}
              aria-describedby="server-notice"
              onInput={(e) => (model.serverDraft.value = (e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" data-action="use-server" disabled={model.busy.value}>
            {TEXT.use}
          </button>
        </form>
        <p
          id="server-notice"
          class={notice ? `notice notice--${notice.kind}` : undefined}
          role={notice?.kind === 'error' ? 'alert' : 'status'}
          data-openping="notice"
        >
          {notice?.text ?? ''}
        </p>
      </section>

      <Checklist model={model.checklist} />

      <p>
        <a href="/options.html">{TEXT.optionsLink}</a>
      </p>
    </main>
  );
}
