// Rapport console: the little every page needs. Loaded with `defer`, never inline (the CSP
// allows scripts from this server only). Pages work without it; it only saves clicks.
(() => {
  'use strict';
  document.documentElement.classList.add('js');

  // The site picker switches as soon as a site is chosen.
  for (const form of document.querySelectorAll('form[data-autosubmit]')) {
    form.addEventListener('change', () => form.requestSubmit());
  }

  // Copy buttons: the text of the element they name, as text.
  for (const button of document.querySelectorAll('[data-copy]')) {
    const target = document.getElementById(button.getAttribute('data-copy'));
    if (!target || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.textContent = 'Copied';
      } catch {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = 'Press Ctrl+C';
      }
      setTimeout(() => (button.textContent = label), 1600);
    });
  }
})();
