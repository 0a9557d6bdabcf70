"""Text and its positions from an uploaded PDF, with limits a hostile file cannot get past.

pypdf runs in a forked child process with an address-space limit and a wall-clock deadline: a
Flate bomb, a circular xref or an infinite loop in pypdf ends the child, never the Lambda
container. Inside the child, pypdf's own limits (decompressed bytes per stream, parsing work)
are lowered too, so most hostile files fail fast with a readable reason.

Whatever looks at the text afterwards (`read(data, interpret)`) runs in the same child under the
same deadline and memory limit: a file crafted to make field extraction slow is stopped like one
that makes pypdf slow, and only the interpretation's small result crosses back to the parent.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection


class ExtractionFailed(Exception):
    """The file cannot be read as an invoice; the message is for a person."""


class InterpretationFailed(ExtractionFailed):
    """Our own code failed on this file's text: a bug to fix, not the file's fault. The message is
    for a person; `detail` is the child's traceback, for the log."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_pages: int = 50
    seconds: float = 20.0
    # Extra address space the child may use beyond what it inherits (the bound on decompression).
    memory_bytes: int = 384 * 1024 * 1024
    max_stream_bytes: int = 20 * 1024 * 1024
    max_chars: int = 2_000_000


@dataclass(frozen=True)
class Fragment:
    text: str
    x: float
    y: float
    size: float
    bold: bool = False


@dataclass
class Page:
    number: int  # 1-based
    fragments: list[Fragment] = field(default_factory=list)
    width: float = 595.0
    height: float = 842.0
    # Image XObjects the page draws directly: with almost no text, the page is a scan.
    images: int = 0


def _pypdf_pages(data: bytes, limits: Limits) -> list[Page]:
    """The extraction itself (no isolation): used inside the child, and by benchmarks."""
    import io

    import pypdf
    from pypdf.errors import PdfReadError

    configuration: dict[str, Any] = {
        "zlib_maximum_output_length": limits.max_stream_bytes,
        "lzw_maximum_output_length": limits.max_stream_bytes,
        "run_length_maximum_output_length": limits.max_stream_bytes,
        "brotli_maximum_output_length": limits.max_stream_bytes,
        "array_based_stream_maximum_output_length": limits.max_stream_bytes,
        "maximum_declared_stream_length": limits.max_stream_bytes,
        "stream_decoding_work_maximum_length": limits.max_stream_bytes * 2,
        "page_tree_maximum_entries": 10_000,
        "page_tree_maximum_depth": 32,
        "xform_maximum_invocations_per_extraction": 200,
    }
    with pypdf.apply_configuration(pypdf.get_configuration().with_overwrites(**configuration)):
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise ExtractionFailed("The PDF is encrypted; upload an unprotected copy.")
            count = len(reader.pages)
        except ExtractionFailed:
            raise
        except (PdfReadError, Exception) as error:
            raise ExtractionFailed(_reason(error)) from None
        if count == 0:
            raise ExtractionFailed("The PDF has no pages.")
        if count > limits.max_pages:
            raise ExtractionFailed(
                f"The PDF has {count} pages; invoices of more than {limits.max_pages} are not parsed."
            )
        pages: list[Page] = []
        chars = 0
        for number in range(count):
            pdf_page = reader.pages[number]
            try:
                box = pdf_page.mediabox
                page = Page(number + 1, width=float(box.width), height=float(box.height), images=_images(pdf_page))
            except Exception as error:
                raise ExtractionFailed(f"Page {number + 1}: {_reason(error)}") from None

            def visit(text: str, cm: Any, tm: Any, font: Any, size: Any, page: Page = page) -> None:
                if not text or not text.strip():
                    return
                # The text's origin on the page: the text matrix, then the current transformation.
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                scale = abs(tm[3] * cm[3]) or 1.0
                bold = "bold" in str(font.get("/BaseFont", "") if font else "").lower()
                page.fragments.append(Fragment(text.replace("\n", " ").strip(), x, y, float(size or 10) * scale, bold))

            try:
                pdf_page.extract_text(visitor_text=visit)
            except Exception as error:
                raise ExtractionFailed(f"Page {number + 1}: {_reason(error)}") from None
            chars += sum(len(fragment.text) for fragment in page.fragments)
            if chars > limits.max_chars:
                raise ExtractionFailed("The PDF holds far more text than an invoice.")
            pages.append(page)
    # No text at all is not a failure here: what to make of a scan is the interpretation's decision.
    return pages


def _images(page: Any) -> int:
    """How many image XObjects the page's own resources hold (forms are not followed: bounded)."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return 0
    count = 0
    for _, reference in list(xobjects.get_object().items())[:100]:
        if reference.get_object().get("/Subtype") == "/Image":
            count += 1
    return count


def _reason(error: BaseException) -> str:
    if type(error).__name__ == "LimitReachedError":
        return "The PDF goes beyond the reader's safety limits (a stream or structure far too large)."
    if isinstance(error, RecursionError):
        return "The PDF's structure is nested too deeply to read."
    return f"The file is not a readable PDF ({type(error).__name__})."


def _child(data: bytes, limits: Limits, sender: Connection, interpret: Callable[[list[Page]], Any]) -> None:
    # A short-lived child: one garbage collection here would walk every object inherited from the
    # parent and copy each page it touches, which cost more than reading a one-page PDF (~70 ms).
    gc.disable()
    try:
        statm = _virtual_size()
        if statm is not None:
            budget = statm + limits.memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
        pages = _pypdf_pages(data, limits)
        try:
            result = interpret(pages)
        except (ExtractionFailed, MemoryError):
            raise
        except Exception as error:
            sender.send(("bug", "".join(traceback.format_exception(error))))
            return
        sender.send(("ok", result))
    except ExtractionFailed as error:
        sender.send(("failed", str(error)))
    except MemoryError:
        sender.send(("failed", "The PDF needs too much memory to read (a compressed stream expands too far)."))
    except BaseException as error:  # anything pypdf raises: the file is the problem, not the parser
        sender.send(("failed", _reason(error)))
    finally:
        sender.close()


def _virtual_size() -> int | None:
    """This process's current virtual size in bytes (Linux), so the child's limit is relative."""
    try:
        with open("/proc/self/statm") as statm:  # noqa: PTH123
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _pages(pages: list[Page]) -> list[Page]:
    return pages


def extract_pages(data: bytes, limits: Limits | None = None) -> list[Page]:
    """The text of each page with positions, or ExtractionFailed with a reason a person can read."""
    return read(data, _pages, limits)


def read[T](data: bytes, interpret: Callable[[list[Page]], T], limits: Limits | None = None) -> T:
    """`interpret(pages)` of the PDF's text, both run in the bounded child; or ExtractionFailed with
    a reason a person can read (InterpretationFailed when `interpret` itself raised)."""
    import pypdf  # noqa: F401  # imported before the fork, so the child starts ready

    limits = limits or Limits()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # fork: `interpret` and `data` are inherited, not pickled; only the result is.
    process = context.Process(target=_child, args=(data, limits, sender, interpret), daemon=True)
    with warnings.catch_warnings():
        # fork() in a process with threads may deadlock the child on a lock held at fork time; the
        # child here only runs pypdf, and the deadline below ends it whatever it is waiting on.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        gc.freeze()  # the parent's objects stay out of any collection the child might still run
        try:
            process.start()
        finally:
            gc.unfreeze()
    sender.close()
    deadline = time.monotonic() + limits.seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExtractionFailed(f"Reading the PDF took longer than {limits.seconds:g} s; it was stopped.")
            if receiver.poll(min(remaining, 0.5)):
                try:
                    outcome, value = receiver.recv()
                except EOFError:
                    raise ExtractionFailed(
                        "The PDF needs too much memory to read (a compressed stream expands too far)."
                    ) from None
                if outcome == "ok":
                    return value  # type: ignore[no-any-return]
                if outcome == "bug":
                    raise InterpretationFailed(
                        "The parser failed on this file's text (our fault); enter the invoice by hand.", value
                    )
                raise ExtractionFailed(value)
            if not process.is_alive() and not receiver.poll(0):
                raise ExtractionFailed("The PDF could not be read (the reader stopped).")
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)


def extract_pages_in_process(data: bytes, limits: Limits | None = None) -> list[Page]:
    """Without isolation: for measurements and tests of trusted files."""
    return _pypdf_pages(data, limits or Limits())
