"""``harness view``: a self-contained static site to look at a run's reconstructions.

- :mod:`harness.render.viewer.site`: what the site shows (from the results table) and its files;
- :mod:`harness.render.viewer.server`: serving it on localhost, making image files on first request;
- ``static/compare.js`` + ``compare.css``: the reusable comparison component (slider, flip, side by side,
  synchronised zoom and pan, difference heat map), documented at the top of ``compare.js``;
- ``static/viewer.js`` + ``viewer.css`` and ``pages/*.html``: the index and the comparison page.
"""

from harness.render.viewer.site import BuildResult, SitePlan, ViewerError, plan_site, write_site

__all__ = ["BuildResult", "SitePlan", "ViewerError", "plan_site", "write_site"]
