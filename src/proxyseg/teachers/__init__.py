"""Teachers: the black boxes a proxy imitates and explains."""

from proxyseg.teachers.base import Teacher, TeacherOutput

__all__ = ["Teacher", "TeacherOutput"]
