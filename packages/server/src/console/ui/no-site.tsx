import { Card, Empty } from './components.js';

/** What every page shows before the first site exists. */
export const NoSite = () => (
  <Card>
    <Empty title="No site yet" action={<a class="button button-primary" href="/console/sites">Add your first site</a>}>
      Rapport collects visits per site. Add your shop as a site, put its script tag on your pages, and customers appear here.
    </Empty>
  </Card>
);
