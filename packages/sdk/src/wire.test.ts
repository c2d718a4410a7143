// Pins the exact JSON the SDK puts on the wire. The fixture lives in @rapport/protocol, and the
// server's tests run it through the server's validator: one contract, checked from both sides.
// After an intended change of the wire format: `npx vitest run --project sdk -u`, and review the diff.
import { expect, it, vi } from 'vitest';
import { WRITE_KEY, mockFetch, setReferrer, setUrl, settle, start } from './test-helpers';

const FIXTURE = '../../protocol/fixtures/sdk-wire.json';

it('sends page + track + identify exactly as the fixture has it', async () => {
  // A fixed clock, fixed ids and a fixed browser.
  vi.setSystemTime(new Date('2026-03-14T09:26:53.589Z'));
  let n = 0;
  vi.spyOn(crypto, 'randomUUID').mockImplementation(
    () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` as `${string}-${string}-${string}-${string}-${string}`,
  );
  vi.spyOn(navigator, 'userAgent', 'get').mockReturnValue(
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  );
  vi.spyOn(navigator, 'language', 'get').mockReturnValue('de-DE');
  vi.spyOn(Intl, 'DateTimeFormat').mockReturnValue({
    resolvedOptions: () => ({ timeZone: 'Europe/Berlin' }),
  } as Intl.DateTimeFormat);
  setUrl(
    'https://shop.example/tours/thailand?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=family+holiday+thailand&gclid=abc123',
  );
  setReferrer('https://www.google.com/');
  document.title = 'Family holidays in Thailand';

  const fetch = mockFetch();
  const rapport = start({}, []);
  rapport.page('Tour', { tourId: 'th-7' });
  rapport.track('Tour Booked', { tourId: 'th-7', revenue: 2598, currency: 'EUR' });
  // userHash = hex(HMAC-SHA256('sk_fixture_secret', 'u-42'))
  rapport.identify(
    'u-42',
    { email: 'ann@example.com', firstName: 'Ann' },
    { userHash: '32da04f7394ceb97c032587e6f4e696b3c9411d89a7a799b6a32126c9c1f2ab5' },
  );
  await settle(1000);

  expect(fetch).toHaveBeenCalledTimes(1);
  const body = JSON.parse(fetch.mock.calls[0][1].body as string);
  expect(body.writeKey).toBe(WRITE_KEY);
  await expect(JSON.stringify(body, null, 2) + '\n').toMatchFileSnapshot(FIXTURE);
});
