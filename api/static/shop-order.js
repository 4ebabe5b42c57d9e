// The shop's order page updates itself (api/templates/shop/order.html): it asks where the order
// stands every few seconds and shows the page again when that changed, until the order is done.
(function () {
  const badge = document.getElementById('order-status');
  if (!badge || !badge.dataset.watch) {
    return;
  }
  const every = 5000;
  async function look() {
    try {
      const answer = await fetch(badge.dataset.watch, {headers: {Accept: 'application/json'}});
      if (answer.ok) {
        const now = await answer.json();
        if (now.status !== badge.dataset.status) {
          window.location.reload();
          return;
        }
        if (now.final) {
          return;
        }
      }
    } catch (e) {
      // Offline for a moment: look again later.
    }
    setTimeout(look, every);
  }
  setTimeout(look, every);
})();
