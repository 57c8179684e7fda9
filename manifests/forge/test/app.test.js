// The macro's front end in a DOM (happy-dom), with only @forge/bridge mocked: what a reader of the page sees.
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@forge/bridge', () => ({
  invokeRemote: vi.fn(),
  router: { open: vi.fn() },
  view: { getContext: vi.fn() },
}));

const { invokeRemote, router, view } = await import('@forge/bridge');
const { mount, text } = await import('../static/ask-lore/src/app.js');

const SOURCES = [
  { n: 1, title: 'TSC minutes 2016-03-31', url: 'https://wiki.example/minutes', doc_id: 'a', snippet: '' },
  { n: 2, title: 'Evil link', url: 'javascript:alert(1)', doc_id: 'b', snippet: '' },
];

function job(state, answer) {
  return { id: 'f'.repeat(32), state, poll_after_ms: 1, ...(answer ? { answer } : {}) };
}

// the backend as invokeRemote sees it: a queue of responses per path prefix
function backend(responses) {
  invokeRemote.mockImplementation(async ({ path }) => {
    const key = Object.keys(responses).find((p) => path.startsWith(p));
    const next = responses[key].shift();
    if (!next) throw new Error(`unexpected call to ${path}`);
    return next;
  });
}

async function mounted(config = {}) {
  view.getContext.mockResolvedValue({ extension: { config } });
  const root = document.createElement('main');
  document.body.replaceChildren(root);
  await mount(root);
  return root;
}

async function ask(root, question) {
  root.querySelector('input[name="question"]').value = question;
  root.querySelector('form').dispatchEvent(new Event('submit', { cancelable: true }));
  await vi.waitFor(() => {
    if (root.querySelector('.result, .error') === null) throw new Error('still working');
  }, { timeout: 2000, interval: 5 });
}

beforeEach(() => {
  vi.clearAllMocks();
});

describe('Ask Lore macro', () => {
  it('asks, polls the job, and shows the answer with numbered sources as links', async () => {
    const answer = { status: 'answered', text: 'Binh and Tamas [1].', notice: null, sources: SOURCES };
    backend({
      '/api/forge/ask': [{ status: 202, body: job('queued') }],
      '/api/forge/jobs/': [{ status: 200, body: job('running') }, { status: 200, body: job('done', answer) }],
    });
    const root = await mounted();
    await ask(root, 'Who maintains it?');

    expect(invokeRemote).toHaveBeenCalledWith({ path: '/api/forge/ask', method: 'POST',
      body: { question: 'Who maintains it?', space: undefined } });
    expect(invokeRemote.mock.calls.filter(([c]) => c.path === `/api/forge/jobs/${'f'.repeat(32)}`)).toHaveLength(2);
    expect(root.querySelector('.answer').textContent).toBe('Binh and Tamas [1].');
    const items = [...root.querySelectorAll('ol.sources li')];
    expect(items.map((li) => li.getAttribute('value'))).toEqual(['1', '2']);
    const link = items[0].querySelector('a');
    expect(link.textContent).toBe('TSC minutes 2016-03-31');
    expect(link.getAttribute('href')).toBe('https://wiki.example/minutes');
    expect(items[1].querySelector('a')).toBeNull(); // a non-web URL is shown as text, never as a link
    link.click();
    expect(router.open).toHaveBeenCalledWith('https://wiki.example/minutes');
    expect(root.querySelector('.notice')).toBeNull();
  });

  it('says "sources only" when the model was unavailable', async () => {
    const notice = 'The answer service is unavailable right now; here are the most relevant pages.';
    backend({
      '/api/forge/ask': [{ status: 202, body: job('queued') }],
      '/api/forge/jobs/': [{ status: 200, body: job('done', { status: 'sources_only', text: '', notice,
        sources: SOURCES.slice(0, 1) }) }],
    });
    const root = await mounted();
    await ask(root, 'Who maintains it?');
    expect(root.querySelector('.notice').textContent).toBe(`${text.sourcesOnly}: ${notice}`);
    expect(root.querySelector('.answer')).toBeNull();
    expect(root.querySelectorAll('ol.sources a')).toHaveLength(1);
  });

  it('never renders server text as HTML', async () => {
    const answer = { status: 'answered', text: '<img src=x onerror=alert(1)>', notice: null,
      sources: [{ n: 1, title: '<b>bold</b>', url: 'https://wiki.example/x', doc_id: 'x', snippet: '' }] };
    backend({ '/api/forge/ask': [{ status: 202, body: job('done', answer) }] });
    const root = await mounted();
    await ask(root, 'q');
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('ol.sources a').textContent).toBe('<b>bold</b>');
  });

  it('sends a vote with the job id and thanks the reader', async () => {
    backend({
      '/api/forge/ask': [{ status: 202, body: job('done', { status: 'answered', text: 'A [1].', sources: SOURCES }) }],
      '/api/forge/feedback': [{ status: 200, body: { recorded: true } }],
    });
    const root = await mounted();
    await ask(root, 'q');
    const [helpful, notHelpful] = root.querySelectorAll('.feedback button');
    expect([helpful.textContent, notHelpful.textContent]).toEqual([text.helpful, text.notHelpful]);
    notHelpful.click();
    await vi.waitFor(() => expect(root.querySelector('.feedback').textContent).toBe(text.thanks));
    expect(invokeRemote).toHaveBeenLastCalledWith({ path: '/api/forge/feedback', method: 'POST',
      body: { job_id: 'f'.repeat(32), vote: 'not_helpful' } });
  });

  it('applies the default space from the macro config, unless the reader unticks it', async () => {
    const done = { status: 202, body: job('done', { status: 'not_found', text: '', sources: [] }) };
    backend({ '/api/forge/ask': [done, { ...done }] });
    const root = await mounted({ defaultSpace: 'TOC' });
    expect(root.textContent).toContain(text.spaceOnly('TOC'));
    await ask(root, 'q');
    expect(invokeRemote.mock.calls[0][0].body).toEqual({ question: 'q', space: 'TOC' });
    root.querySelector('#lore-space-only').checked = false;
    root.querySelector('.result').remove();
    await ask(root, 'q');
    expect(invokeRemote.mock.calls[1][0].body).toEqual({ question: 'q', space: undefined });
  });

  it('shows the server\'s message when asking is refused or the job failed', async () => {
    backend({ '/api/forge/ask': [{ status: 429, body: { error: { message: 'You asked 6 questions in the last minute.' } } }] });
    const root = await mounted();
    await ask(root, 'q');
    expect(root.querySelector('.error').textContent).toBe('You asked 6 questions in the last minute.');

    backend({
      '/api/forge/ask': [{ status: 202, body: job('queued') }],
      '/api/forge/jobs/': [{ status: 200, body: { ...job('failed'), error: { message: 'Elasticsearch is down.' } } }],
    });
    root.querySelector('.error').remove();
    await ask(root, 'q');
    expect(root.querySelector('.error').textContent).toBe('Elasticsearch is down.');
  });
});
