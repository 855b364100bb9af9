# frozen_string_literal: true

# Defined at the top level on purpose: a binding made here has Object as its constant
# scope, like a method file run by the engine, and fresh local variables each call. Its
# `self` is a new object that reads as `main` (MiqAutomate::MethodIsolation.fresh_main),
# so a method's instance variables and top-level `def`s stay on that object, gone with it.
MiqAutomate::FRESH_BINDING = ->(main = MiqAutomate::MethodIsolation.fresh_main) { main.instance_eval { binding } }
