"""The house rules over edge/ and convert/, read from the source with ``ast`` (nothing is imported).

- no import circle: every import counts, at module level or inside a function, relative ones resolved;
  only imports under ``if TYPE_CHECKING:`` are left out, because they never run;
- no module over 400 lines;
- one module of the mqtt package talks to paho (edge/mqtt/client.py), and the stages (sources, detectors
  with motion and tracking, classify, mood, recommend) never reach the mqtt package or the commands, not
  even through the config: a stage hands its result on, the commands decide where it goes, and a stage
  is used and tested alone;
- the shared modules (edge/*.py beside the folders: errors, fields, geometry, ...) import no stage, no
  config, no mqtt and no command: every folder may use them;
- no loop among edge's folders (each folder, and each module beside them, one node): they read as layers;
- only the CLI imports the commands (the training host shares code with the Pi's bench through a shared
  module, not through ``edge.commands``);
- edge never imports TensorFlow, Keras or convert (the Pi install stays small);
- make_detector names no detector plug-in and asks none what it has: each says how it is followed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("edge", "convert")
MAX_LINES = 400
STAGES = ("edge.sources", "edge.detectors", "edge.motion", "edge.track", "edge.classify", "edge.mood", "edge.recommend")
MQTT = "edge.mqtt"
COMMANDS = "edge.commands"
#: the entry points: they import the commands; everything else beside edge's folders is shared
ENTRY = ("edge.cli", "edge.__main__")
#: the one module that talks to paho (type hints elsewhere import it only under TYPE_CHECKING)
PAHO_USER = "edge.mqtt.client"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run: module level, in functions, in try blocks; not under TYPE_CHECKING."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Full dotted names ``name`` imports (modules, or package + attribute where that is a submodule)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in import_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
            continue
        if node.level:
            base = name.split(".")
            drop = node.level - 1 if is_package else node.level
            base = base[:len(base) - drop] if drop else base
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            out.add(sub if sub in known else target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def internal_graph() -> dict[str, set[str]]:
    g = graph()
    return {name: {t for t in targets if t in g and t != name} for name, targets in g.items()}


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            strong(v)
    return sorted(found)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def is_stage(name: str) -> bool:
    return any(within(name, s) for s in STAGES)


def is_shared(name: str) -> bool:
    """``edge`` itself and the modules beside edge's folders that are neither a stage nor an entry point."""
    return name == "edge" or (name.count(".") == 1 and within(name, "edge") and not is_stage(name)
                              and name not in ENTRY and not (ROOT / name.replace(".", "/")).is_dir())


def reach(g: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for t in g[todo.pop()]:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def folder(name: str) -> str:
    """The node of the folder graph: ``edge.config.load`` -> ``edge.config``; ``edge.mood`` stays."""
    return ".".join(name.split(".")[:2])


def folder_graph(g: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, targets in g.items():
        if within(name, "edge"):
            out.setdefault(folder(name), set()).update(
                folder(t) for t in targets if within(t, "edge") and folder(t) != folder(name))
    for targets in list(out.values()):
        for t in targets:
            out.setdefault(t, set())
    return out


def test_the_graph_sees_relative_and_function_level_imports():
    g = graph()
    assert "edge.errors" in g["edge.cli"]
    assert any(within(t, "edge.commands.daemon") for t in g["edge.commands.demo"])  # imported inside a function


def test_the_circle_finder_names_every_module_of_a_circle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(g) == [["a", "b", "c"]]


def test_no_import_circle_in_edge_or_convert():
    assert circles(internal_graph()) == []


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_only_one_module_of_the_mqtt_package_imports_paho():
    users = sorted(name for name, targets in graph().items()
                   if any(within(t, "paho") for t in targets))
    assert users == [PAHO_USER]


def test_stages_never_import_the_mqtt_package():
    offenders = {name: sorted(t for t in targets if within(t, MQTT))
                 for name, targets in graph().items() if any(within(name, s) for s in STAGES)}
    assert {n: t for n, t in offenders.items() if t} == {}


def test_stages_never_reach_the_mqtt_package_or_the_commands_even_through_the_config():
    g = internal_graph()
    offenders = {name: sorted(t for t in reach(g, name) if within(t, MQTT) or within(t, COMMANDS))
                 for name in g if is_stage(name)}
    assert {n: t for n, t in offenders.items() if t} == {}


def test_shared_modules_import_only_shared_modules():
    g = internal_graph()
    shared = sorted(n for n in g if is_shared(n))
    assert {"edge.errors", "edge.fields", "edge.geometry"} <= set(shared)  # the rule sees them
    offenders = {name: sorted(t for t in g[name] if not is_shared(t)) for name in shared}
    assert {n: t for n, t in offenders.items() if t} == {}


def test_the_folder_graph_joins_a_module_to_its_folder():
    g = {"edge.config.load": {"edge.sources"}, "edge.sources": {"edge.sources.base"},
         "edge.sources.base": {"edge.config"}, "edge.config": set(), "edge.mood": {"edge.errors"},
         "edge.errors": set()}
    assert circles(folder_graph(g)) == [["edge.config", "edge.sources"]]
    assert folder_graph(g)["edge.mood"] == {"edge.errors"}


def test_no_loop_among_edges_folders():
    assert circles(folder_graph(internal_graph())) == []


def test_only_the_cli_imports_the_commands():
    offenders = {name: sorted(t for t in targets if within(t, COMMANDS))
                 for name, targets in graph().items() if not within(name, COMMANDS) and name not in ENTRY}
    assert {n: t for n, t in offenders.items() if t} == {}


def test_edge_never_imports_tensorflow_keras_or_convert():
    forbidden = ("tensorflow", "keras", "tf_keras", "convert")
    offenders = {name: sorted(t for t in targets if t.split(".")[0] in forbidden)
                 for name, targets in graph().items() if within(name, "edge")}
    assert {n: t for n, t in offenders.items() if t} == {}


def test_make_detector_names_no_plugin_and_asks_no_plugin_what_it_has():
    """Each plug-in says how it is followed (``Detector.tracking``): no per-kind branch, no hasattr."""
    def strings(path: str) -> set[str]:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}

    kinds = {s for s in strings("edge/detectors/__init__.py") if s.isidentifier()}  # DETECTORS' keys
    assert "haar" in kinds and not strings("edge/detectors/make.py") & kinds
    tree = ast.parse((ROOT / "edge/detectors/make.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") in
                ("hasattr", "getattr", "isinstance")]
