"""The page's CSS and its one script, kept apart from the wiring in ui/app.py.

The script only reads the qa-t-N / qa-n-N classes that ui/render.py wrote and sets a hidden textbox;
it never inserts text into the page, so it cannot be a route for article content to run.
"""

CSS = """
#qa-article-view .qa-article { position: relative; max-height: 640px; overflow-y: auto; padding: 0.75rem 1rem;
  border: 1px solid var(--border-color-primary); border-radius: 8px; line-height: 1.55; }
#qa-article-view .qa-body { white-space: pre-wrap; }
#qa-article-view .qa-title { margin: 0 0 0.25rem 0; }
#qa-article-view .qa-meta { color: var(--body-text-color-subdued); font-size: 0.85em;
  margin-bottom: 0.75rem; overflow-wrap: anywhere; }
#qa-article-view .qa-empty { color: var(--body-text-color-subdued); }
mark.qa-hl { background: #fff3a3; color: #111; padding: 0 2px; border-radius: 3px; }
mark.qa-hl.qa-focus { background: #ffd84d; outline: 2px solid #e0a800; }
mark.qa-hl sup { font-weight: bold; color: #8a5a00; margin-right: 2px; }
mark.qa-hl strong.qa-span { text-decoration: underline; text-decoration-thickness: 2px; }
#qa-chat .qa-cite { color: var(--color-accent); cursor: pointer; font-weight: bold; }
#qa-chat .qa-sources { margin-top: 0.5rem; font-size: 0.9em; }
#qa-chat .qa-sources ul { margin: 0.25rem 0 0 0; padding-left: 1rem; }
#qa-chat .qa-source { cursor: pointer; margin-bottom: 0.3rem; }
#qa-chat .qa-abstain { font-style: italic; color: var(--body-text-color-subdued);
  border-left: 3px solid #c9a227; padding-left: 0.5rem; }
#qa-chat .qa-error { color: #b42318; }
#qa-chat .qa-note { font-size: 0.85em; color: var(--body-text-color-subdued); }
#qa-chat .qa-msg { cursor: pointer; }
#qa-chat .qa-timeline { margin: 0.3rem 0 0 0; padding-left: 1.2rem; }
#qa-chat .qa-timeline li { margin-bottom: 0.25rem; }
#qa-chat .qa-disagree { margin-top: 0.4rem; padding: 0.3rem 0.5rem; border-left: 3px solid #d97706;
  background: rgba(217, 119, 6, 0.08); }
#qa-chat .qa-disagree ul { margin: 0.2rem 0 0 0; padding-left: 1rem; }
#qa-chat .qa-earlier { font-size: 0.8em; padding: 0 4px; border-radius: 3px; background: #e5e7eb;
  color: #374151; }
"""

# Clicking an answer (or one of its [n] markers / source lines) writes "turn:n:nonce" into the
# hidden #qa-picked textbox; its change event tells the server which source to show. The nonce
# makes a second click on the same marker an event too.
JS = """
() => {
  window.qaScrollToFocus = () => {
    // Scroll the article box only, not the page, so the chat stays where the reader is.
    setTimeout(() => {
      const box = document.querySelector('#qa-article-view .qa-article');
      const el = box && box.querySelector('.qa-focus');
      if (el) box.scrollTo({top: Math.max(0, el.offsetTop - box.clientHeight / 3), behavior: 'smooth'});
    }, 50);
  };
  document.addEventListener('click', (e) => {
    const msg = e.target.closest && e.target.closest('#qa-chat .qa-msg');
    if (!msg) return;
    const num = (el, prefix) => {
      const c = el && [...el.classList].find((k) => k.startsWith(prefix));
      return c ? c.slice(prefix.length) : null;
    };
    const turn = num(msg, 'qa-t-');
    const n = num(e.target.closest('.qa-cite, .qa-source'), 'qa-n-') || '1';
    if (turn === null) return;
    const box = document.querySelector('#qa-picked textarea, #qa-picked input');
    if (!box) return;
    box.value = `${turn}:${n}:${Date.now()}`;
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }, true);
}
"""
