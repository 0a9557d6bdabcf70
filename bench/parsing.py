"""Invoice parsing: text with positions (pypdf, in the forked and bounded reader the parser uses)
and then fields and line items, for a 1-page and a 20-page invoice made with fpdf2 (the tests'
own generator).

Each document is measured in a fresh process that is the invoice function (its handler imported,
as a warm container holds it; `python -m bench.parsing <pages> <repeats>`), so that the memory
figures are the function's and no other process's: the benchmark's own process has run `sam build`
and the cold-start children by then, and `RUSAGE_CHILDREN` there is the largest of all of them.

Memory, in MiB:
- `function_rss_mib`: the function process's own peak resident set (`VmHWM`) while it reads: the
  handler and pypdf imported, waiting on its reader meanwhile;
- `reader_private_mib`: the reader child's private memory (`Private_Clean + Private_Dirty` of
  `/proc/self/smaps_rollup`), taken in the child once it has interpreted the document (its
  pages and the result still alive; with the garbage collector off, freed memory stays with the
  process), in three reads of their own (not the timed ones: reading `smaps_rollup` takes
  milliseconds): what the reader adds to the function's memory, the pages it shares with the
  parent not counted twice;
- `function_peak_mib`: the two added, the function's memory at its peak, as Lambda counts it.
  This is the figure held to the target;
- `reader_rss_mib`: the reader's peak resident set (`RUSAGE_CHILDREN` of the function process,
  whose only children are its readers), shared pages included (for comparison);
- `peak_mib`: what Python allocated while reading (tracemalloc, in process).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench import system


def measure(*, repeats: int) -> dict[str, Any]:
    from unit.invoice_pdfs import invoice_of_pages  # fpdf2 here: the function process has no use for it

    environment = system.function_environment("InvoiceFunction", "postgresql://bench@/bench?host=/nowhere")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="payreq-bench-parsing-") as scratch:
        for pages in (1, 20):
            document = Path(scratch) / f"{pages}.pdf"
            document.write_bytes(invoice_of_pages(pages))
            finished = subprocess.run(
                [sys.executable, "-m", "bench.parsing", str(document), str(pages), str(repeats)],
                cwd=system.ROOT,
                env=environment,
                capture_output=True,
                text=True,
                check=False,
            )
            if finished.returncode != 0:
                raise RuntimeError(f"parsing {pages} pages failed:\n{finished.stderr[-3000:]}")
            results[str(pages)] = json.loads(finished.stdout.strip().splitlines()[-1])
    return results


def _document(document: bytes, pages: int, repeats: int) -> dict[str, Any]:
    """In the function process: read one document `repeats` times as the function does."""
    import invoice_api.handler  # noqa: F401  (the function as a warm container holds it)
    from invoice_api import pdftext
    from invoice_api.reading import invoice

    invoice.prepare()  # the matchers, built before the reader forks, as the parser does

    def interpret(found_pages: list[pdftext.Page]) -> tuple[Any, float]:
        """The parser's interpretation, and then the reader's private memory (in the reader)."""
        return invoice.read(found_pages), _private_mib()

    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = pdftext.read(document, invoice.read)
        timings.append(time.perf_counter() - started)
    # Reading smaps_rollup walks every mapping (milliseconds): in reads of their own, not timed.
    private = [pdftext.read(document, interpret)[1] for _ in range(3)]
    if "total" not in found.fields:
        raise RuntimeError(f"the {pages}-page invoice was not understood: {found.fields}")
    function_rss = _status_mib("VmHWM")
    tracemalloc.start()
    invoice.read(pdftext.extract_pages_in_process(document))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    median = statistics.median(timings) * 1000
    return {
        "bytes": len(document),
        "line_items": len(found.items),
        "ms_total_median": median,
        "ms_per_page": median / pages,
        "peak_mib": peak / 2**20,
        "function_rss_mib": function_rss,
        "reader_private_mib": max(private),
        "function_peak_mib": function_rss + max(private),
        "reader_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,  # Linux: kB
    }


def _private_mib() -> float:
    with open("/proc/self/smaps_rollup") as rollup:  # noqa: PTH123
        fields = dict(line.split(":", 1) for line in rollup if ":" in line)
    return sum(int(fields[name].split()[0]) for name in ("Private_Clean", "Private_Dirty")) / 1024


def _status_mib(name: str) -> float:
    with open("/proc/self/status") as status:  # noqa: PTH123
        line = next(line for line in status if line.startswith(f"{name}:"))
    return int(line.split()[1]) / 1024


if __name__ == "__main__":
    path, pages, repeats = sys.argv[1:4]
    print(json.dumps(_document(Path(path).read_bytes(), int(pages), int(repeats))))
