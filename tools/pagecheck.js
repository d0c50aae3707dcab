// The layout checks of tools/pagecheck.py, run in the page after MathJax has typeset it.
// Returns a list of [kind, detail] pairs.
() => {
  const out = [];
  const article = document.querySelector('main article') || document.querySelector('main');
  if (!article) return out;
  const col = article.getBoundingClientRect();
  const { describe, theoremOverlaps } = window.pagecheck;  // tools/pagecheck_common.js
  // maths
  document.querySelectorAll('mjx-merror').forEach(e => out.push(['MathJax error', describe(e.closest('mjx-container') || e)]));
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const p = node.parentElement;
    if (p.closest('pre, code, script, style, mjx-container, .highlight, textarea')) continue;
    if (/\$\$|\\begin\{|\\\(|\\\[|\\frac/.test(node.textContent)) out.push(['maths not typeset', node.textContent.trim().slice(0, 80)]);
  }
  // content wider than the column, unless it sits in a scrollable container
  const scrollable = (el) => {
    for (let a = el.parentElement; a && a !== article.parentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (['auto', 'scroll'].includes(s.overflowX) && a.scrollWidth > a.clientWidth - 1) return true;
    }
    return false;
  };
  const wide = new Set();
  article.querySelectorAll('mjx-container[display="true"], img, table, pre, figure, .sd-card, .cell_output, p, dl').forEach(el => {
    const r = el.getBoundingClientRect();
    if (r.width === 0) return;
    if ((r.right > col.right + 2 || r.left < col.left - 2) && !scrollable(el)) {
      if (![...wide].some(w => w.contains(el))) { wide.add(el); out.push(['wider than its column', describe(el)]); }
    }
    if (el.tagName === 'MJX-CONTAINER' && el.scrollWidth > el.clientWidth + 2) {
      out.push(['equation wider than its column (' + el.scrollWidth + ' > ' + el.clientWidth + ' px)', describe(el)]);
    } else if (el.tagName === 'MJX-CONTAINER') {
      for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX === 'hidden' && a.scrollWidth > a.clientWidth + 2) { out.push(['equation cut off', describe(el)]); break; }
      }
    }
  });
  // an output line that runs far past its column (a one-line repr of a configuration): scrollable, but unreadable
  article.querySelectorAll('.cell_output pre, .output pre').forEach(pre => {
    if (pre.scrollWidth > 1.5 * pre.clientWidth) out.push(['output line far wider than its column', describe(pre)]);
  });
  // boxes over a theorem or proof
  out.push(...theoremOverlaps(article, 'overlaps a theorem or proof'));
  // images: loaded, and each figure once
  const seen = {};
  article.querySelectorAll('img').forEach(img => {
    if (!img.complete || img.naturalWidth === 0) out.push(['image does not load', img.getAttribute('src')]);
    const key = img.getAttribute('src');
    if (key && !key.endsWith('.svg')) { seen[key] = (seen[key] || 0) + 1; }
  });
  Object.entries(seen).forEach(([src, n]) => { if (n > 1) out.push(['figure shown ' + n + ' times', src]); });
  return out;
}
