"""The code's shape: common imports no domain, recipe or dataset module; sizes are bounded."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "vision", "nlp", "speech", "recipes")
DOMAIN_MODULES = ("transferkit.vision", "transferkit.nlp", "transferkit.speech",
                  "transferkit.recipes")


def _modules(*packages):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    """Every module an ``import`` in the file names, at any depth (lazy imports too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            if node.module == "transferkit":  # from transferkit import vision
                names += [f"transferkit.{alias.name}" for alias in node.names]
    return names


def test_common_imports_no_domain_recipe_or_dataset_module():
    found = [f"{path.relative_to(ROOT)}: {name}" for path in _modules("common")
             for name in _imports(path)
             if name.startswith(DOMAIN_MODULES) or name in {"importlib.import_module"}]
    assert not found, "common must not import a domain: " + "; ".join(found)


def test_common_names_no_domain_module_in_strings_either():
    # "not even lazily": no importlib.import_module("transferkit.vision") by name.
    found = [f"{path.relative_to(ROOT)}: {node.value}" for path in _modules("common")
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and node.value.startswith(DOMAIN_MODULES)]
    assert not found, "; ".join(found)


def test_no_module_over_300_lines_and_no_function_over_40():
    long_modules, long_functions = [], []
    for path in _modules(*PACKAGES):
        source = path.read_text()
        if source.count("\n") > 300:
            long_modules.append(f"{path.relative_to(ROOT)} ({source.count(chr(10))})")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 40:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.name} ({length})")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_builtin_domains_are_entry_points_like_any_plugin():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    plugins = project["entry-points"]["transferkit.plugins"]
    assert plugins == {"vision": "transferkit.vision", "text": "transferkit.nlp",
                       "speech": "transferkit.speech", "recipes": "transferkit.recipes"}
