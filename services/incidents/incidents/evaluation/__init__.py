"""The plan's evaluation (中期评估 end of 2023, 总结评估 end of 2025): the three goals, each
against its target, per county and for the city, with the key-industry tables of 2020 and
the evaluation year, the inspections' rectification record and every figure's definition.
"""
