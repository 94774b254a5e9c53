#!/usr/bin/env python3
"""Checks the JSON Schemas of docs/schemas against documents, and draws random documents valid under them.

    schemas.py validate SCHEMA_DIR DOCUMENT_DIR
        Every file DOCUMENT_DIR/<schema>.<n>.json must be valid under SCHEMA_DIR/<schema>.json; prints each
        failure and exits 1 if there is any.
    schemas.py generate SCHEMA_DIR OUT_DIR SEED COUNT
        Writes COUNT random documents valid under each schema to OUT_DIR/<schema>.<n>.json, and checks each.

Needs the `jsonschema` package (scripts/bootstrap installs it).
"""

import json
import os
import random
import sys

import jsonschema

INT64 = (-(2**63), 2**63 - 1)


def load_schemas(directory):
    schemas = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name), encoding="utf-8") as file:
                schema = json.load(file)
            jsonschema.Draft202012Validator.check_schema(schema)
            schemas[name[: -len(".json")]] = schema
    return schemas


def validate(schema_dir, document_dir):
    schemas = load_schemas(schema_dir)
    failures = 0
    checked = 0
    for name in sorted(os.listdir(document_dir)):
        schema_name = name.split(".")[0]
        if schema_name not in schemas:
            print(f"{name}: no schema {schema_name}")
            failures += 1
            continue
        with open(os.path.join(document_dir, name), encoding="utf-8") as file:
            document = json.load(file)
        validator = jsonschema.Draft202012Validator(schemas[schema_name])
        for error in validator.iter_errors(document):
            print(f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}", file=sys.stderr)
            failures += 1
        checked += 1
    print(f"checked {checked} documents, {failures} failures")
    return 1 if failures else 0


class Generator:
    PIECES = ["a", "Z", "0", "-", ".", "/", '"', "\\", "\n", "\u0001", "é", "日", "🚀", " "]

    def __init__(self, seed):
        self.random = random.Random(seed)

    def string(self, schema):
        low = schema.get("minLength", 0)
        high = schema.get("maxLength", max(low, 12))
        count = self.random.randint(low, min(high, low + 12))
        if "pattern" in schema:  # the only pattern used: printable ASCII without spaces
            return "".join(chr(self.random.randint(0x21, 0x7E)) for _ in range(count))
        return "".join(self.random.choice(self.PIECES) for _ in range(count))

    def integer(self, schema):
        low = schema.get("minimum", INT64[0])
        high = schema.get("maximum", INT64[1])
        choice = self.random.random()
        if choice < 0.3:
            return self.random.choice([low, high, max(low, min(high, 0))])
        if choice < 0.6:
            return self.random.randint(max(low, -10), min(high, 10)) if max(low, -10) <= min(high, 10) else low
        return self.random.randint(low, high)

    def number(self, schema):
        choice = self.random.random()
        if choice < 0.3:
            return self.random.random()
        if choice < 0.5:
            return self.random.choice([0.0, 1.0, 0.5, 1e20, 1e-7, 5e-324, 1.7976931348623157e308])
        return self.random.uniform(-1e6, 1e6)

    def value(self, schema):
        if "enum" in schema:
            return self.random.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.value(self.random.choice(schema[key]))
        kind = schema.get("type")
        if kind == "object":
            result = {}
            properties = schema.get("properties", {})
            required = set(schema.get("required", []))
            for name, property_schema in properties.items():
                if name in required or self.random.random() < 0.5:
                    result[name] = self.value(property_schema)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                for _ in range(self.random.randint(0, 3)):
                    result[self.string({"minLength": 1})] = self.value(extra)
            return result
        if kind == "array":
            if "prefixItems" in schema:
                return [self.value(item) for item in schema["prefixItems"]]
            return [self.value(schema["items"]) for _ in range(self.random.randint(0, 3))]
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            return self.integer(schema)
        if kind == "number":
            return self.number(schema)
        if kind == "boolean":
            return self.random.random() < 0.5
        if kind == "null":
            return None
        raise ValueError(f"cannot generate {schema}")


def generate(schema_dir, out_dir, seed, count):
    schemas = load_schemas(schema_dir)
    generator = Generator(seed)
    for name, schema in schemas.items():
        validator = jsonschema.Draft202012Validator(schema)
        for index in range(count):
            document = generator.value(schema)
            validator.validate(document)
            with open(os.path.join(out_dir, f"{name}.{index}.json"), "w", encoding="utf-8") as file:
                json.dump(document, file, ensure_ascii=bool(index % 2), indent=None if index % 3 else 1)
    return 0


def main(arguments):
    if len(arguments) == 3 and arguments[0] == "validate":
        return validate(arguments[1], arguments[2])
    if len(arguments) == 5 and arguments[0] == "generate":
        return generate(arguments[1], arguments[2], int(arguments[3]), int(arguments[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
