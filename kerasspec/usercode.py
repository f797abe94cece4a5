"""User code named as `package.module:Name`, imported only under `--allow-code`.

The static checks (spec.py) refuse every such name without `--allow-code` before anything
is imported. With it, names are imported here, after those checks pass, from the spec's
directory or the current one. Every failure is one located error: the module is not found,
its import raised, it has no such attribute, or the object is not of the kind its place
in the spec needs (`custom layer 'mylayers:Gate' is not a keras.layers.Layer`).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import sys
import traceback
from pathlib import Path
from typing import Any

from .errors import Mark, SpecError, did_you_mean
from .kinds import KINDS, Kind, is_keras_layer_path
from .loader import PMap
from .walker import Visitor


def is_expected(kind: Kind, obj: Any) -> bool:
    """Whether an imported object is what its place needs: a subclass of the kind's base class,
    or a function where the kind accepts functions."""
    if inspect.isclass(obj):
        import keras

        return kind.base is not None and issubclass(obj, kind.keras_base(keras))
    return kind.accepts_functions and callable(obj)


def _noun(kind: Kind | None) -> str:
    return kind.user_noun if kind is not None else "user code"


def import_object(reference: str, mark: Mark | None, code_dir: Path, kind: Kind | None) -> Any:
    """Import `package.module:Name` (Name may be dotted) from `code_dir` (the spec's
    `code_directory`), the current directory or the installed packages, and check it is what
    `kind` needs."""
    if is_keras_layer_path(kind, reference):
        return keras_own_layer(reference, mark)
    noun = _noun(kind)
    module_name, _, attribute = reference.partition(":")
    where = [str(code_dir.resolve()), str(Path.cwd())]
    added = [d for d in dict.fromkeys(where) if d not in sys.path]
    sys.path[:0] = added
    try:
        _forget_other_copy(module_name.split(".")[0], where)
        module = importlib.import_module(module_name)
        _remember_if_local(module_name.split(".")[0], where)
        _USER_MODULES.add(module_name.split(".")[0])
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name) or exc.name == module_name:
            beside = [p.stem for d in dict.fromkeys(where) for p in Path(d).glob("*.py")]
            raise SpecError(
                mark,
                f"{noun} '{reference}': no module named '{exc.name}'" + did_you_mean(str(exc.name), beside),
                hint="modules are looked up in the spec's directory, the current one and the installed packages",
                code="code-import",
            ) from None
        raise SpecError(
            mark, f"{noun} '{reference}': importing '{module_name}' failed: {exc}", code="code-import"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's module raised while it was imported
        raise SpecError(
            mark,
            f"{noun} '{reference}': importing '{module_name}' failed: {type(exc).__name__}: {exc}",
            code="code-import",
        ) from None
    finally:
        for directory in added:
            if directory in sys.path:
                sys.path.remove(directory)
    obj = _attribute(module, module_name, attribute, f"{noun} '{reference}'", mark)
    if kind is not None and not is_expected(kind, obj):
        what = f"class {obj.__name__}" if inspect.isclass(obj) else type(obj).__name__
        raise SpecError(mark, f"{noun} '{reference}' is not {kind.expected} (it is {what})", code="code-kind")
    return obj


def _attribute(module: Any, module_name: str, attribute: str, what: str, mark: Mark | None) -> Any:
    """`module.attribute` (dotted: `Outer.Inner`), or an error naming the part that is missing."""
    obj: Any = module
    walked = module_name
    for part in attribute.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise SpecError(
                mark,
                f"{what}: '{walked}' has no attribute '{part}'" + did_you_mean(part, names),
                code="code-import",
            )
        obj = getattr(obj, part)
        walked = f"{walked}.{part}" if walked != module_name else f"{module_name}:{part}"
    return obj


def keras_module(module_name: str) -> Any:
    """A module of the installed Keras package, found inside it and nowhere else; None when
    there is none (or it cannot be imported, as a backend whose framework is not installed)."""
    import importlib.util

    import keras

    if module_name != "keras" and not module_name.startswith("keras."):
        return None
    try:
        found = importlib.util.find_spec(module_name)
        if found is None or found.origin is None or not _inside_keras(found.origin, keras):
            return None
        return importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - no such module, or one that fails to import: not there
        return None


def _inside_keras(file: str, keras: Any) -> bool:
    return Path(file).resolve().is_relative_to(Path(keras.__file__).resolve().parent)


def defined_in_keras(obj: Any) -> bool:
    """Whether a class was defined in a module of the installed Keras package."""
    import keras

    file = getattr(sys.modules.get(getattr(obj, "__module__", "")), "__file__", None)
    return inspect.isclass(obj) and file is not None and _inside_keras(file, keras)


def code_running_layer(cls: Any) -> str | None:
    """The name of the layer that runs code (Lambda, ...) that `cls` is, or None."""
    import keras

    running = [n for n in sorted(KINDS["layers"].code_running) if issubclass(cls, getattr(keras.layers, n, ()))]
    return running[0] if running else None


def keras_own_layer(reference: str, mark: Mark | None) -> Any:
    """A `keras.…:Name` layer type: a `keras.Layer` subclass defined inside the installed Keras
    package (nothing is looked up outside it), and not one of the layers that run code."""
    import keras

    module_name, _, attribute = reference.partition(":")
    module = keras_module(module_name)
    if module is None:
        raise SpecError(
            mark,
            f"layer type '{reference}': the installed Keras has no module '{module_name}'",
            hint="a keras.…:Name type names a layer Keras itself defines; a layer of your own is named by its "
            "module (package.module:Name) and needs --allow-code",
            code="code-import",
        )
    obj = _attribute(module, module_name, attribute, f"layer type '{reference}'", mark)
    if not defined_in_keras(obj) or not issubclass(obj, keras.layers.Layer):
        what = f"class {obj.__name__}" if inspect.isclass(obj) else type(obj).__name__
        raise SpecError(mark, f"layer type '{reference}' is not a layer Keras defines (it is {what})", code="code-kind")
    running = code_running_layer(obj)
    if running:
        raise SpecError(
            mark,
            f"layer type '{reference}' is a {running}, which runs Python code",
            hint=f"write `type: {running}` (refused without --allow-code)",
            code="code-not-allowed",
        )
    return obj


# Top-level user modules imported from a spec's (or the current) directory: name -> file.
_LOCAL_MODULES: dict[str, Path] = {}
# Top-level modules of every piece of user code imported (local or installed).
_USER_MODULES: set[str] = set()


def _user_code_roots() -> list[Path]:
    """The files (and package folders) of the user code imported so far."""
    roots = []
    for top in _USER_MODULES:
        file = getattr(sys.modules.get(top), "__file__", None)
        if file is not None:
            path = Path(file).resolve()
            roots.append(path.parent if path.name == "__init__.py" else path)
    return roots


def user_frame(exc: BaseException) -> str | None:
    """`FILE:LINE, in FUNCTION` of the innermost frame of `exc`'s traceback that lies in the
    user's own code (a module kerasspec imported as user code), or None when there is none."""
    roots = _user_code_roots()
    found = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = Path(frame.f_code.co_filename)
        if path.is_absolute() and any(path.resolve() == r or path.resolve().is_relative_to(r) for r in roots):
            found = f"{path}:{line}, in {frame.f_code.co_name}"
    return found


def _forget_other_copy(top: str, where: list[str]) -> None:
    """Python keeps one module per name for the life of a process. When a user module `top`
    was imported from another directory than the one this spec's code is found in now, as when
    `validate --build a/spec.yaml b/spec.yaml` both name their own `layers.py`, drop the old
    copy and its submodules so that this spec gets its own code. Only modules kerasspec
    imported as user code are dropped, never Keras or another installed package."""
    previous = _LOCAL_MODULES.get(top)
    if previous is None or top not in sys.modules:
        return
    importlib.invalidate_caches()
    found = importlib.machinery.PathFinder.find_spec(top, where)
    if found is not None and found.origin is not None and Path(found.origin).resolve() == previous:
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]
    del _LOCAL_MODULES[top]


def _remember_if_local(top: str, where: list[str]) -> None:
    origin = getattr(sys.modules.get(top), "__file__", None)
    if origin is not None and any(Path(origin).resolve().is_relative_to(Path(d).resolve()) for d in where):
        _LOCAL_MODULES[top] = Path(origin).resolve()


def check_step_signature(step: Any, reference: str, mark: Mark | None, noun: str = "train step") -> None:
    """A train (or test) step is called as `step(model, batch)`."""
    try:
        inspect.signature(step).bind(object(), object())
    except TypeError:
        raise SpecError(
            mark,
            f"{noun} '{reference}' must take (model, batch); it takes {inspect.signature(step)}",
            hint=f"def {noun.replace(' ', '_')}(model, batch): ... return {{'loss': loss}}",
            code="code-signature",
        ) from None


# Keywords every keras.layers.Layer takes through **kwargs (layer.py's allowed set).
_LAYER_KWARGS = frozenset(
    {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights", "activity_regularizer"}
)


def constructor_keywords(cls: Any) -> tuple[set[str], bool, list[str]]:
    """(named keywords, whether it takes **kwargs, required ones) of a class's constructor."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return set(), True, []
    named, required, var_keyword = set(), [], False
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            named.add(name)
            if parameter.default is inspect.Parameter.empty:
                required.append(name)
    return named, var_keyword, required


def check_arguments(
    cls: Any, reference: str, raw: Any, skip: tuple = (), kind: Kind | None = None, missing_mark: Mark | None = None
) -> None:
    """A user's class must accept the spec's keywords: an unknown one is reported at its key
    (with a close match), a missing required one at the entry. Keywords passed on through
    **kwargs are checked against the Keras base classes the class derives from."""
    if not inspect.isclass(cls):
        return
    noun = _noun(kind)
    accepted: set[str] | None
    accepted, open_ended, required = constructor_keywords(cls)
    if open_ended:
        keras_bases = [base for base in cls.__mro__[1:] if base.__module__.startswith("keras")]
        if not keras_bases:
            accepted = None  # a plain Python base: anything may be meant
        else:
            for base in keras_bases:
                names, _, _ = constructor_keywords(base)
                accepted |= names
            accepted |= _LAYER_KWARGS | {"name", "dtype", "trainable", "autocast"}
    given = [str(k) for k in raw if k not in skip]
    if accepted is not None:
        for key in given:
            if key not in accepted:
                raise SpecError(
                    raw.key_mark(key),
                    f"{noun} '{reference}' takes no argument '{key}'" + did_you_mean(key, accepted),
                    hint=f"{cls.__name__}.__init__ takes: "
                    + ", ".join(sorted(a for a in accepted if not a.startswith("_"))),
                    code="unknown-argument",
                )
    for name in required:
        if name not in given and name != "name":
            raise SpecError(
                missing_mark or raw.mark, f"{noun} '{reference}' needs argument '{name}'", code="missing-argument"
            )


def check_takes_name(cls: Any, reference: str, raw: PMap, kind: Kind | None = None) -> None:
    """An entry's `name:` is given to the constructor, as Keras gives it to every layer; a class
    copied without `**kwargs` (`def __init__(self, units)`) cannot take it."""
    if not inspect.isclass(cls):
        return
    named, open_ended, _ = constructor_keywords(cls)
    if open_ended or "name" in named:
        return
    raise SpecError(
        raw.key_mark("name"),
        f"{_noun(kind)} '{reference}' cannot take the entry's name: {cls.__name__}.__init__ has no **kwargs",
        hint="accept **kwargs and pass them on: def __init__(self, ..., **kwargs): super().__init__(**kwargs)",
        code="code-signature",
    )


class SavedUserCode(Visitor):
    """The user code a saved model of a spec names (custom layers, losses, metrics, ...), found by
    walking the spec's tree; callbacks and train steps are not saved with a model."""

    def __init__(self, code_dir: Path):
        self.code_dir = code_dir
        self.found: list[tuple[str, Any]] = []  # (reference, object)

    def visit_object(self, kind: Kind | None, raw: PMap) -> Any:
        reference = raw["type"]
        if isinstance(reference, str) and ":" in reference:
            self.visit_code(kind, reference, raw.value_mark("type"))
        return super().visit_object(kind, raw)

    def visit_code(self, kind: Kind | None, value: str, mark: Mark | None) -> Any:
        if kind is None or kind.saved:
            self.found.append((value, import_object(value, mark, self.code_dir, kind)))
        return value
