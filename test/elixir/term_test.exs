defmodule Otpc.TermTest do
  # The C term layer sees Elixir's data as Elixir does: structs, strings,
  # charlists, keyword lists, MapSets and ranges cross to C and back
  # byte-exact, and the C printer agrees with Erlang's ~tp.
  use ExUnit.Case, async: true
  import Otpc.TestSupport

  setup do
    port = open_port_program("otpc-term")
    on_exit(fn -> if Port.info(port), do: Port.close(port) end)
    %{port: port}
  end

  @terms [
    "héllo wörld",
    ~c"charlist",
    [a: 1, b: [c: "x"]],
    %{name: "otpc", tags: [:c, :erlang], nested: %{1 => 1.5}},
    URI.parse("https://example.com:8080/path?q=1"),
    MapSet.new([1, 2, 3]),
    1..10//2,
    {:ok, 12_345_678_901_234_567_890_123_456_789},
    -0.0,
    :"Elixir.Some.Module",
    <<1, 2, 3::4>>,
    %{}
  ]

  test "Elixir terms round-trip byte-exact and print as Erlang does", %{port: port} do
    for term <- @terms do
      {:ok, printed, encoded} = port_call(port, {:roundtrip, term})
      assert encoded == :erlang.term_to_binary(term, minor_version: 2), "bytes of #{inspect(term)}"
      assert :erlang.binary_to_term(encoded) === term
      expected = :unicode.characters_to_binary(:io_lib.format(~c"~0tp", [term]))
      assert printed == expected, "print of #{inspect(term)}"
    end
  end

  test "C compares Elixir terms in Erlang term order", %{port: port} do
    sorted = Enum.sort(@terms)
    for [a, b] <- Enum.chunk_every(sorted, 2, 1, :discard) do
      {order, _exact} = port_call(port, {:compare, a, b})
      assert order <= 0, "#{inspect(a)} sorts before #{inspect(b)} in Elixir, C says #{order}"
      {reverse, _} = port_call(port, {:compare, b, a})
      assert reverse == -order
    end
  end

  test "a struct matches a C pattern on its fields", %{port: port} do
    uri = URI.parse("https://example.com/x")
    assert {:match, ["example.com", 443]} ==
             port_call(port, {:match, "\#{'__struct__' := 'Elixir.URI', host := ~t, port := ~t}", uri})
  end
end
