"""Published reconstructions as contenders: results made elsewhere, read from disk with their stated rates.

Some codecs cannot be run here (PICO's model is not public), but their authors published reconstructions
and the bits per pixel they state. Evaluating such a codec at a point is a lookup of one reconstruction;
the harness measures the distortion against the dataset's original, and the row says the rate is the
authors' figure (``rate_source = "published"``, no file sizes, no timing). The codecs register in the codec
registry (``--codecs pico``) but implement only :class:`harness.codecs.base.Contender`.

Where (:mod:`.config`): ``HARNESS_PICO_DIR`` (PICO's folders), ``HARNESS_PUBLISHED_DIRS`` (``[codec=]folder``),
and TOML files (``$HARNESS_PUBLISHED_CONFIG``, else ``harness/codecs/definitions/published/*.toml``) with
``[[source]]``, ``[[codec]]`` (more ``*-published`` codecs) and ``[[rate]]`` (corrected rates) tables.

Layouts (:mod:`.readers`, mixed freely; one file found twice counts once): the authors' comparison viewer
(``bpp_data.json`` beside ``<scene>/<codec>.png``), rates in file names (``Splash_rate20_0.173bpp.png``,
``kodim04_hific_0.3bpp.png``; :mod:`.names`), and manifests (``*.csv`` / ``*.json`` with ``image, codec,
bpp, path``). A point IS a stated bpp; an image key matches a dataset image by name, ignoring case, folders
and prepended dataset tags (``kodak_kodim04`` ~ ``kodim04``). A reconstruction of the wrong size, or a
scene ``reference.png`` differing from the dataset's original, fails its row with the reason.
"""
