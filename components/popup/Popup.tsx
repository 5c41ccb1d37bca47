export function Popup() {
  return (
    <main data-openping="popup">
      <h1>OpenPing</h1>
      <p>No tracked emails yet. Turn on Track in a Gmail or Outlook compose and send.</p>
    </main>
  );
}
