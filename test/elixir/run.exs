# Loads the support code and every *_test.exs beside this file, then runs
# ExUnit; the exit status is non-zero when a test fails.
ExUnit.start(autorun: false)
dir = __DIR__
Code.require_file("support.exs", dir)
dir |> Path.join("*_test.exs") |> Path.wildcard() |> Enum.sort() |> Enum.each(&Code.require_file/1)
%{failures: failures} = ExUnit.run()
System.halt(if failures == 0, do: 0, else: 1)
