# frozen_string_literal: true

module MiqAutomate
  VERSION = "0.1.0"
end
