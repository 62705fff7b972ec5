"""The hub's shared vocabulary: identifiers and their check characters, Jining's
divisions, industry codes and key industries, disease categories and accident grades,
and the error for a value no rule accepts.
"""
