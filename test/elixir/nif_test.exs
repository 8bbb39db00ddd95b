defmodule Otpc.NifTest do
  # The NIF examples called from Elixir: results, errors as an Elixir user
  # sees them (ArgumentError naming the argument, what was expected and
  # what was received), resources, and the loader's messages.
  use ExUnit.Case, async: true

  test "add/2 takes integers of any size" do
    big = Integer.pow(2, 4000) + 17
    assert :otpc_nif_example.add(1, 2) == 3
    assert :otpc_nif_example.add(big, -big) == 0
    assert :otpc_nif_example.add(big, big - 1) == 2 * big - 1
    assert :otpc_nif_example.add(-9_223_372_036_854_775_808, -1) == -9_223_372_036_854_775_809
  end

  test "a bad argument raises an ArgumentError that says which, what and why" do
    error = assert_raise ArgumentError, fn -> :otpc_nif_example.add(1, "two") end
    message = Exception.message(error)
    # Elixir prints the whole reason: the sentence and the fields.
    assert message =~ "argument 2: expected integer, received <<"
    assert message =~ ~s(argument: 2, expected: "integer")
    assert message =~ ~s(received: "two")
    assert message =~ "otpc_nif_example:add/2"

    error = assert_raise ArgumentError, fn -> :otpc_nif_example.sum_binary(:nope) end
    assert Exception.message(error) =~ "argument 1: expected bin, received nope"
  end

  test "sum_binary/1 and digest/1 agree with Elixir" do
    bin = :binary.copy(<<7, 250, 3>>, 400_001)
    assert :otpc_nif_example.sum_binary(bin) == 260 * 400_001

    data = ["Elixir ", ~c"and ", <<"C">>]
    expected =
      data
      |> IO.iodata_to_binary()
      |> :binary.bin_to_list()
      |> Enum.reduce(14_695_981_039_346_656_037, fn b, h ->
        Bitwise.band(Bitwise.bxor(h, b) * 1_099_511_628_211, 0xFFFFFFFFFFFFFFFF)
      end)

    assert :otpc_nif_example.digest(data) == expected
  end

  test "a counter resource shared by tasks" do
    counter = :otpc_nif_example.counter_new()
    1..10
    |> Enum.map(fn _ -> Task.async(fn -> for _ <- 1..100, do: :otpc_nif_example.counter_add(counter, 2) end) end)
    |> Enum.each(&Task.await/1)

    assert :otpc_nif_example.counter_get(counter) == 2000
    assert_raise ArgumentError, ~r/expected res\(counter\)/, fn -> :otpc_nif_example.counter_get(make_ref()) end
  end

  test "the loader works from Elixir and says what is missing" do
    {:ok, path} = :otpc_nif.path(:otpc, ~c"otpc_nif_example")
    assert File.regular?(List.to_string(path) <> ".so")

    assert {:error, {:missing, text}} =
             :otpc_nif.load(:otpc, ~c"no_such_nif", fn p, i -> :erlang.load_nif(p, i) end)

    assert List.to_string(text) =~ "no_such_nif.so does not exist"
    assert {:error, {:no_app, _}} = :otpc_nif.path(:no_such_app_at_all, ~c"x")
  end
end
