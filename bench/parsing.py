"""Invoice parsing: text with positions (pypdf, in the forked and bounded reader the parser uses)
and then fields and line items, for a 1-page and a 20-page invoice made with fpdf2 (the tests'
own generator). Peak memory two ways: Python allocations (tracemalloc, in-process reader) and
the reader child's maximum resident set (what counts against the function's memory)."""

from __future__ import annotations

import resource
import statistics
import time
import tracemalloc
from typing import Any

from bench import system  # noqa: F401  (puts tests/ and the functions on sys.path)


def measure(*, repeats: int) -> dict[str, Any]:
    from unit.invoice_pdfs import invoice_of_pages

    from invoice_api import pdftext
    from invoice_api.reading import invoice

    invoice.prepare()  # the matchers, built before the reader forks, as the parser does
    results: dict[str, Any] = {}
    for pages in (1, 20):
        document = invoice_of_pages(pages)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            found = pdftext.read(document, invoice.read)
            timings.append(time.perf_counter() - started)
        if "total" not in found.fields:
            raise RuntimeError(f"the {pages}-page invoice was not understood: {found.fields}")
        tracemalloc.start()
        invoice.read(pdftext.extract_pages_in_process(document))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        median = statistics.median(timings) * 1000
        results[str(pages)] = {
            "bytes": len(document),
            "line_items": len(found.items),
            "ms_total_median": median,
            "ms_per_page": median / pages,
            "peak_mib": peak / 2**20,
            # Linux reports kilobytes; the largest child so far, which is the 20-page one at the end.
            "child_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        }
    return results
