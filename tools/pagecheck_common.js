// Helpers shared by the checks of tools/pagecheck.js (desktop) and tools/pagecheck_phone.js (phone):
// tools/pagecheck.py installs them in the page as window.pagecheck before it runs either check.
() => {
  // an element as a reader can find it: tag, id, first classes and the start of its text
  const describe = (el) => (el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : '') +
      ' "' + (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 50).replace(/\s+/g, ' ') + '"');
  // [kind, detail] for every image, figure, table, card, cell output or displayed equation lying over a
  // theorem or proof box (by more than 2 px each way) without being inside it or holding it
  const theoremOverlaps = (article, kind) => {
    const out = [];
    const boxes = [...article.querySelectorAll('.theorem, .lemma, .proof, .corollary, .proposition')];
    const others = [...article.querySelectorAll('img, figure, table, .sd-card, .cell_output, mjx-container[display="true"]')];
    for (const box of boxes) {
      const b = box.getBoundingClientRect();
      for (const el of others) {
        if (box.contains(el) || el.contains(box)) continue;
        const r = el.getBoundingClientRect();
        const w = Math.min(b.right, r.right) - Math.max(b.left, r.left), h = Math.min(b.bottom, r.bottom) - Math.max(b.top, r.top);
        if (w > 2 && h > 2) out.push([kind, describe(el) + ' over ' + describe(box)]);
      }
    }
    return out;
  };
  window.pagecheck = { describe, theoremOverlaps };
}
