"""The expression language: grammar (``grammar/expr.lark``) → AST (``ast``) → types (``types``)
→ closures (``compile``); ``printer`` writes canonical text back."""
