"""A class's submissions, read from a folder or from Gradescope's "Download Submissions" export.

Three sources give the same ``ClassSubmissions``:

- a folder with one subfolder per student (the subfolder's name is the student);
- Gradescope's export unpacked: ``submission_metadata.yml`` maps each ``submission_NNNN/`` folder
  to its submitters (``:name:``, ``:sid:``, ``:email:``) and its ``:created_at:`` time;
- the same export as the .zip Gradescope hands out, extracted here entry by entry into a
  temporary folder (no path may leave it, no link is made, sizes are checked first).

A student is named by sid, else email, else name; a group submission gives one ``Student`` per
submitter, all pointing at the same submission. **Every student the source names is a ``Student``**:
one whose submission cannot be graded (an entry of the zip skipped or unreadable, a folder
missing from the export, a folder name that is not UTF-8) carries the reason in its
submission's ``problem``, so the gradebook shows the row with the reason, never without it.
Two people are one student only where the SID (else email, else name) matches and the name or
the email agrees; keys are unique (a clash gets a suffix, never a drop). Bad input costs one
sentence in ``problems`` and never the rest of the class. Only what makes the whole source
unusable (not there, not a zip, nothing in it, not a class at all) raises ``GradingError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from kit.errors import GradingError
from kit.files import scratch

METADATA = "submission_metadata.yml"
# Operating systems' litter in exports and folders: never a student, never a submission's file.
LITTER = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
MAX_ENTRY_BYTES = 1 << 30  # one file of a submission (a model file is ~15 MB; Gradescope caps uploads far lower)
MAX_RATIO = 200.0  # a member expanding more than this is a zip bomb, not a model or source file
DISK_MARGIN_BYTES = 256 << 20


@dataclass(frozen=True)
class Student:
    """One student of the class and the submission that counts for them."""

    student: str  # the key: sid, else email, else name, else the folder name (safe as a folder name)
    submission: Submission
    name: str = ""
    email: str = ""
    sid: str = ""
    section: str = ""


@dataclass
class Submission:
    """One submitted folder (a Gradescope submission may belong to several students)."""

    id: str  # the folder's name: submission_NNNN, or the student's folder
    folder: Path
    created_at: str = ""
    problem: str = ""  # why it cannot be graded (an unreadable entry in the zip); empty when it can

    def content_hash(self, files: tuple[str, ...]) -> str:
        """SHA-256 over the names and contents of the files the grader reads (the rest cannot change a grade)."""
        digest = hashlib.sha256()
        for name in sorted(files):
            path = self.folder / name
            if path.is_file() and not path.is_symlink():
                digest.update(name.encode() + b"\0")
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                digest.update(b"\0")
        return digest.hexdigest()


@dataclass
class ClassSubmissions:
    """The class as the source gave it: one ``Student`` each (sorted by key), and the problems met."""

    source: Path
    kind: str  # "folder" or "gradescope"
    students: list[Student]
    problems: list[str] = field(default_factory=list)

    @property
    def has_roster(self) -> bool:
        """Whether names, SIDs or emails came with the class (Gradescope's export), for the gradebook files."""
        return any(s.sid or s.email for s in self.students)

    def submissions(self) -> list[Submission]:
        """Each distinct submission once (a group's is shared), in the students' order."""
        seen: dict[str, Submission] = {}
        for student in self.students:
            seen.setdefault(student.submission.id, student.submission)
        return list(seen.values())

    def student(self, key: str) -> Student:
        """The student called ``key`` (their key, or their SID or email as the export gives it)."""
        for student in self.students:
            if student.student == key:
                return student
        for student in self.students:
            if key and key in (student.sid, student.email):
                return student
        shown = ", ".join(s.student for s in self.students[:20]) + (", ..." if len(self.students) > 20 else "")
        raise GradingError(f"No student {key!r} in {self.source}; students: {shown}.")


def safe_key(text: str) -> str:
    """A student's key usable as a folder name: letters, digits, @ . + - _ kept, the rest "_"."""
    key = re.sub(r"[^\w@.+-]", "_", text.strip()).strip("._") or "_"
    return key[:120]


def printable(name: str) -> str:
    """A file name for a message; bytes that are not UTF-8 shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.listdir gives undecodable bytes as surrogates
        return False
    return True


@contextlib.contextmanager
def open_class(source: str | os.PathLike, *, entry: str | None = None) -> Iterator[ClassSubmissions]:
    """The class in ``source`` (folder, unpacked export or export .zip); a zip is extracted for the ``with`` only.

    ``entry``: the assignment's entry file; a submission without it is named in ``problems`` (it is
    still graded: its model, if any, can earn points, and its code checks say what is missing).
    """
    source = Path(source)
    if not source.exists():
        raise GradingError(
            f"{source} does not exist; pass a folder with one subfolder per student, or Gradescope's "
            "Download Submissions export (.zip or unpacked)."
        )
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise GradingError(
                f"{source} is not a zip archive (corrupted, or not Gradescope's export); download the export again, "
                "or pass a folder."
            )
        with scratch("kit-class-") as folder:  # a killed run's is removed by the next (kit.files.sweep_scratch)
            problems, lost = extract_export(source, folder)
            found = read_folder(folder, entry=entry, shown_as=source, lost=lost)
            found.source = source
            found.problems[:0] = problems
            yield found
        return
    yield read_folder(source, entry=entry)


# ------------------------------------------------------------------ folders


def read_folder(
    folder: Path, *, entry: str | None = None, shown_as: Path | None = None, lost: dict[Path, str] | None = None
) -> ClassSubmissions:
    """A folder of student subfolders, or an unpacked Gradescope export (at the top or one folder down).

    ``lost``: the entries of an extracted zip that were left out (``extract_export``): their
    submission is not graded, with the reason (its zero would be the export's fault, not the student's).
    """
    shown = shown_as or folder
    if not folder.is_dir():
        raise GradingError(f"{shown} is not a folder; pass a folder with one subfolder per student, or the export.")
    root = _export_root(folder)
    problems: list[str] = []
    if root is not None:
        students = _gradescope_students(root, problems, shown, lost or {})
        kind = "gradescope"
    else:
        folder = _class_folder(folder, shown)
        students = _folder_students(folder, problems, shown)
        kind = "folder"
    if not students:
        raise GradingError(
            f"{shown} holds no submissions (an empty export, or a folder without student subfolders); "
            "pass the folder or zip that holds them."
        )
    students = _unique(students, problems)
    for submission in {s.submission.id: s.submission for s in students}.values():
        inside = submission.folder.resolve()
        bad = [(path, why) for path, why in (lost or {}).items() if inside in path.parents]
        if bad:
            path, why = bad[0]
            submission.problem = f"{path.relative_to(inside)} {why}: not graded"
    if entry:
        for submission in {s.submission.id: s.submission for s in students}.values():
            if not submission.problem and not (submission.folder / entry).is_file():
                names = ", ".join(s.student for s in students if s.submission is submission)
                who = submission.id if names == submission.id else f"{submission.id} ({names})"
                problems.append(f"{who} has no {entry}: graded as it is (its code checks score 0).")
    return ClassSubmissions(shown, kind, sorted(students, key=lambda s: s.student), problems)


def _export_root(folder: Path) -> Path | None:
    if (folder / METADATA).is_file():
        return folder
    inner = [p for p in _visible_subfolders(folder) if (p / METADATA).is_file()]
    return inner[0] if len(inner) == 1 else None


SUBMISSION_SUFFIXES = (".py", ".ipynb", ".keras", ".h5")


def _class_folder(folder: Path, shown: Path) -> Path:
    """The folder that holds the student folders (``folder``, or its only subfolder when that wraps them).

    Refuses, in one sentence, what is not a class: one student's project (a submission's file at
    the top) and an export that lost its roster (``submission_NNNN`` folders, no metadata).
    """
    subfolders = _visible_subfolders(folder)
    files = [p for p in folder.iterdir() if p.is_file() and p.name not in LITTER and not p.name.startswith(".")]
    if len(subfolders) == 1 and not files and not _has_files(subfolders[0]) and _visible_subfolders(subfolders[0]):
        return _class_folder(subfolders[0], shown)  # a zip of the class folder: class/ana/, class/boris/
    own = sorted(p.name for p in files if p.suffix.lower() in SUBMISSION_SUFFIXES)
    if own:
        raise GradingError(
            f"{shown} holds {own[0]} at its top, so it is one student's submission, not a class; grade it with "
            "`python -m kit grade FOLDER`, or pass a folder with one subfolder per student, or Gradescope's export."
        )
    if subfolders and all(re.fullmatch(r"submission_\d+", p.name) for p in subfolders):
        raise GradingError(
            f"{shown} is a Gradescope export without its {METADATA} (submission_NNNN folders and no roster), "
            "so no student could be named; download the export again, whole."
        )
    return folder


def _has_files(folder: Path) -> bool:
    return any(p.is_file() and p.name not in LITTER and not p.name.startswith(".") for p in folder.iterdir())


def _visible_subfolders(folder: Path) -> list[Path]:
    found = (p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
    return sorted(p for p in found if not p.name.startswith(".") and p.name not in LITTER)


def _folder_students(folder: Path, problems: list[str], shown: Path) -> list[Student]:
    students = []
    for path in _visible_subfolders(folder):
        if not _is_utf8(path.name):
            shown_name = printable(path.name)
            why = "its folder's name is not UTF-8: rename the folder to the student's id and run again"
            problems.append(
                f"the folder {shown_name!r} in {shown} has a name that is not UTF-8: not graded; rename it."
            )
            students.append(Student(safe_key(shown_name), Submission(shown_name, path, problem=why), name=shown_name))
            continue
        key = safe_key(path.name)
        email = path.name if "@" in path.name else ""
        students.append(Student(key, Submission(path.name, path), name=path.name, email=email))
    return students


# ------------------------------------------------------------------ Gradescope's submission_metadata.yml


def _ruby_tolerant_loader():
    """PyYAML's safe loader, also reading the Ruby tags a Rails export may carry as plain data."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    return Loader


def read_metadata(path: Path) -> dict:
    """``submission_metadata.yml`` as a dict (keys keep Gradescope's leading colons: ``:submitters``)."""
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_ruby_tolerant_loader())  # a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise GradingError(f"{path} is not valid YAML ({reason}); download the export again.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GradingError(f"{path} is not a mapping of submission folders to submitters; download the export again.")
    return data


def _field(record: dict, name: str) -> str:
    value = record.get(f":{name}", record.get(name))
    return "" if value is None else str(value).strip()


def _gradescope_students(root: Path, problems: list[str], shown: Path, lost: dict[Path, str]) -> list[Student]:
    metadata = read_metadata(root / METADATA)
    folders = {p.name: p for p in _visible_subfolders(root)}
    students = []
    for submission_id, record in metadata.items():
        submission_id = str(submission_id)
        if not isinstance(record, dict):
            problems.append(f"{METADATA} has no record for {submission_id}: skipped.")
            continue
        folder = folders.pop(submission_id, None)
        submitters = record.get(":submitters", record.get("submitters")) or []
        created = record.get(":created_at", record.get("created_at"))
        created = created.isoformat() if isinstance(created, datetime) else _field(record, "created_at")
        submission = Submission(submission_id, folder or root / submission_id, created_at=created)
        if folder is None:  # its students keep their rows, with the reason (read_folder names a better one from `lost`)
            submission.problem = f"{submission_id} is in {METADATA} but has no folder in the export"
            names = ", ".join(_field(s, "name") or _field(s, "email") for s in submitters if isinstance(s, dict))
            if not any((root / submission_id).resolve() in path.parents for path in lost):
                problems.append(
                    f"{submission_id} ({names or 'no submitter'}) is in {METADATA} but has no folder: not graded."
                )
        if not submitters:
            problems.append(f"{submission_id} has no submitters in {METADATA}: graded as {submission_id}.")
            students.append(Student(safe_key(submission_id), submission))
            continue
        for submitter in submitters:
            if not isinstance(submitter, dict):
                continue
            sid, email, name = _field(submitter, "sid"), _field(submitter, "email"), _field(submitter, "name")
            key = safe_key(sid or email or name or submission_id)
            section = _field(submitter, "section")
            students.append(Student(key, submission, name=name, email=email, sid=sid, section=section))
    for name in sorted(folders):
        problems.append(f"{name} is not in {METADATA}: graded as {name} (no name, SID or email for the gradebook).")
        students.append(Student(safe_key(name), Submission(name, folders[name])))
    return students


def _moment(text: str) -> float:
    """A submission time as a UTC timestamp, for ordering (unreadable or missing: the earliest)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _identity(student: Student) -> str:
    """Who the source says a student is: the SID, else the email, else the name, else the folder."""
    return student.sid or student.email.casefold() or student.name or student.submission.id


def _same_person(a: Student, b: Student) -> bool:
    """Two records of one identity are one person where the name or the email agrees (or nothing tells them apart)."""
    if not (a.name or a.email) or not (b.name or b.email):
        return True
    return bool(a.name and a.name.casefold() == b.name.casefold()) or bool(
        a.email and a.email.casefold() == b.email.casefold()
    )


def _unique(students: list[Student], problems: list[str]) -> list[Student]:
    """One row per person, each under a key of its own; one sentence for each merge, clash and suffix.

    A person in several submissions keeps the latest (``created_at``, then folder name); two people
    who share an SID (a typing slip in the roster) are both kept; a key that two people's ids map to
    (``12/34`` and ``12 34`` are both ``12_34``) gets a suffix for the second (``12_34-2``).
    """
    people: dict[str, list[list[Student]]] = {}
    for student in students:
        same = people.setdefault(_identity(student), [])
        match = next((person for person in same if any(_same_person(student, o) for o in person)), None)
        if match is None:
            same.append([student])
        else:
            match.append(student)
    kept = []
    for identity, same in people.items():
        if len(same) > 1:
            names = "; ".join(", ".join(filter(None, (p[0].name, p[0].email))) or p[0].submission.id for p in same)
            problems.append(
                f"{len(same)} different people share the id {identity!r} ({names}): each is graded and has a row "
                "of their own; correct the id in the roster so that the LMS files reach the right person."
            )
        for found in same:
            found.sort(key=lambda s: (_moment(s.submission.created_at), s.submission.id))
            kept.append(found[-1])
            if len(found) > 1:
                others, latest = ", ".join(s.submission.id for s in found[:-1]), found[-1].submission.id
                problems.append(
                    f"{found[-1].student} appears in {len(found)} submissions ({others} and {latest}): "
                    f"the latest, {latest}, is graded."
                )
    return _unique_keys(kept, problems)


def _unique_keys(students: list[Student], problems: list[str]) -> list[Student]:
    """Each student under a key no other has: the first (by key, id, submission) keeps it, the next get -2, -3."""
    taken: set[str] = set()
    result = []
    for student in sorted(students, key=lambda s: (s.student, _identity(s), s.name, s.submission.id)):
        key, number = student.student, 2
        while key in taken:
            key, number = f"{student.student}-{number}", number + 1
        if key != student.student:
            problems.append(
                f"{student.name or student.submission.id} (id {_identity(student)!r}) is kept as {key}: "
                f"{student.student} names another student."
            )
            student = dataclasses.replace(student, student=key)
        taken.add(key)
        result.append(student)
    return result


# ------------------------------------------------------------------ the export's zip


def _member_path(info: zipfile.ZipInfo) -> tuple[str | None, str | None]:
    """(relative posix path the member would have, or None; why it is not extracted, or None) for one zip member.

    A path with a reason is a member of a submission that is left out (a link): its submission is
    then not graded, with that reason, instead of graded without the file.
    """
    name = info.filename
    if not info.flag_bits & 0x800:  # not marked UTF-8: Python read it as cp437; macOS writes UTF-8 unmarked
        raw = name.encode("cp437")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            shown = raw.decode("utf-8", "backslashreplace")
            return None, f"the zip entry {shown!r} has a file name that is not UTF-8: skipped."
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        return None, f"the zip entry {name!r} points outside the export folder: skipped (nothing was written there)."
    if any(part in LITTER or part.startswith("._") for part in path.parts):
        return None, None
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return path.as_posix(), "is a symbolic link in the zip (never followed; ask the student for the file itself)"
    return path.as_posix(), None


def extract_export(archive_path: Path, destination: Path) -> tuple[list[str], dict[Path, str]]:
    """Extract a submissions zip entry by entry into ``destination``.

    Returns one sentence per entry skipped, and the entries of submissions left out (a link, an
    entry taken for a zip bomb, one that could not be read): path -> why, so that their
    submission gets a row with the reason rather than a grade without the file.
    """
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError, ValueError, UnicodeDecodeError) as error:
        raise GradingError(
            f"{archive_path} is not a readable zip archive ({error}); download the export again."
        ) from None
    problems: list[str] = []
    lost: dict[Path, str] = {}
    root = destination.resolve()
    with archive:
        try:
            members = archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise GradingError(f"{archive_path} is corrupted ({error}); download the export again.") from None
        wanted = []
        total = 0
        for info in members:
            target, problem = _member_path(info)
            if target is not None and problem:
                lost[root / target] = problem
                problems.append(f"the zip entry {target!r} {problem}: its submission is not graded.")
                continue
            if problem:
                problems.append(problem)
            if target is None or info.is_dir():
                continue
            if info.file_size > MAX_ENTRY_BYTES or (
                info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1)
            ):
                why = (
                    f"expands to {info.file_size >> 20} MB from {info.compress_size >> 10} KB, taken for a zip bomb "
                    "(look at it by hand)"
                )
                lost[root / target] = why
                problems.append(f"the zip entry {target!r} {why}: skipped; its submission is not graded.")
                continue
            total += info.file_size
            wanted.append((info, target))
        free = shutil.disk_usage(destination).free
        if total + DISK_MARGIN_BYTES > free:
            raise GradingError(
                f"{archive_path} expands to {total >> 20} MB but {destination} has {free >> 20} MB free; "
                "free some disk space (or set TMPDIR to a larger disk)."
            )
        for info, target in wanted:
            path = (root / target).resolve()
            if root not in path.parents:  # belt and braces after the checks above
                problems.append(f"the zip entry {target!r} points outside the export folder: skipped.")
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, open(path, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:  # a damaged entry (bad CRC, truncated)
                path.unlink(missing_ok=True)
                lost[path] = "could not be read from the zip (download the export again)"
                problems.append(f"the zip entry {target!r} could not be read ({error}): that submission is not graded.")
    if not wanted and not lost:
        raise GradingError(f"{archive_path} holds no files (an empty export); download the export again.")
    return problems, lost
