// The phone checks of tools/pagecheck.py (a 390 px wide viewport), run after MathJax has typeset the
// page. Wide equations and tables may scroll inside their own boxes, as on any good phone page; the
// page itself must not scroll sideways, and nothing may cover a theorem or proof. Returns [kind, detail] pairs.
() => {
  const out = [];
  const article = document.querySelector('main article') || document.querySelector('main');
  if (!article) return out;
  const { describe, theoremOverlaps } = window.pagecheck;  // tools/pagecheck_common.js
  const viewport = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > viewport + 2) {
    // name the outermost elements that stick out of the screen without a scrollable box around them
    const inScroller = (el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
      }
      return false;
    };
    const culprits = [...document.body.querySelectorAll('*')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > viewport + 2 && !inScroller(el);
    });
    const outer = culprits.filter(el => !culprits.some(o => o !== el && o.contains(el)));
    out.push(['page wider than a phone screen (' + document.documentElement.scrollWidth + ' > ' + viewport + ' px)',
              outer.slice(0, 3).map(describe).join('; ') || 'the page']);
  }
  // maths cut off: a formula that runs past a box that hides what overflows (instead of scrolling)
  article.querySelectorAll('mjx-container').forEach(el => {
    const r = el.getBoundingClientRect();
    if (r.width === 0) return;
    for (let a = el.parentElement; a && a !== article.parentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (['auto', 'scroll'].includes(s.overflowX)) break;  // it scrolls: the reader can reach it
      const b = a.getBoundingClientRect();
      if (['hidden', 'clip'].includes(s.overflowX) && (r.right > b.right + 2 || r.left < b.left - 2)) {
        out.push(['maths cut off on a phone', describe(el)]);
        break;
      }
    }
  });
  out.push(...theoremOverlaps(article, 'overlaps a theorem or proof on a phone'));
  return out;
}
