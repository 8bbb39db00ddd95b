defmodule Otpc.ClusterTest do
  # The issue's proof with Elixir: three Elixir nodes (peers running the
  # elixir application, kernel's start_pg on) and X, the C node, connected
  # as a user would (each Elixir node calls Node.connect on the others and
  # on X). X serves :erpc and :rpc calls from each, hosts pg members seen by
  # all, and one of them holds a global name; then the third Elixir node is
  # killed (SIGKILL) and restarted under the same name. The same scenario
  # runs with a fourth Elixir node as X, and what every node observes, pids
  # replaced by the role of their node, must be the same.
  use ExUnit.Case, async: false
  alias Otpc.TestSupport.CNode

  @timeout 20_000
  # Two clusters of four nodes are started, one after the other.
  @moduletag timeout: 240_000
  @group :ex_cluster

  # Run on the Elixir peers (loaded there with :code.load_binary): members
  # that stay until told, and a watcher that forwards one monitor's DOWN.
  @helper """
  defmodule Otpc.ClusterTest.Helper do
    def member(group) do
      pid =
        spawn(fn ->
          receive do
            :stop -> :ok
          end
        end)

      :ok = :pg.join(group, pid)
      pid
    end

    def watch(pid, to) do
      me = self()

      spawn(fn ->
        ref = Process.monitor(pid)
        send(me, {:watch_ready, self()})
        receive do
          {:DOWN, ^ref, :process, ^pid, reason} -> send(to, {:watched, pid, reason})
        end
      end)
      receive do
        {:watch_ready, _} -> :ok
      end
    end

    def echo(x), do: x
  end
  """

  setup_all do
    if Process.whereis(:pg) == nil, do: {:ok, _} = :pg.start(:pg)
    [{mod, bin}] = Code.compile_string(@helper, "cluster_helper.ex")
    %{helper: {mod, bin}}
  end

  # ------------------------------------------------------------ nodes

  # An Elixir node: a peer with Elixir's code path and the elixir and
  # logger applications started, as `elixir --sname` would have.
  defp start_elixir(name, helper) do
    args =
      Enum.flat_map(~w(elixir logger)a, &[~c"-pa", :code.lib_dir(&1, :ebin)]) ++
        [~c"-kernel", ~c"start_pg", ~c"true", ~c"-setcookie", Atom.to_charlist(Node.get_cookie())]

    {:ok, peer, node} = :peer.start(%{name: name, args: args, wait_boot: 30_000})
    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:elixir])
    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:logger])
    {mod, bin} = helper
    {:module, ^mod} = :erpc.call(node, :code, :load_binary, [mod, ~c"cluster_helper.ex", bin])
    {peer, node}
  end

  defp start_x(:c, _helper) do
    {port, node} = CNode.start()
    {:c, port, node}
  end

  defp start_x(:beam, helper) do
    {peer, node} = start_elixir(unique(:exx), helper)
    {:beam, peer, node}
  end

  defp stop_x({:c, port, _}), do: 0 = CNode.stop(port)
  defp stop_x({:beam, peer, _}), do: :peer.stop(peer)

  # A killed peer's control process is gone already: stopping it exits.
  defp stop_peer(peer) do
    :peer.stop(peer)
  catch
    :exit, _ -> :ok
  end

  defp unique(prefix), do: :"#{prefix}#{System.unique_integer([:positive])}"

  defp helper_mod, do: Otpc.ClusterTest.Helper

  # Each Elixir node connects to every other node of the list, as a user
  # would; the C node is connected to, never connects.
  defp connect(elixirs, all) do
    for e <- elixirs, n <- all, n != e, do: true = :erpc.call(e, Node, :connect, [n])
    :ok
  end

  # :global.sync() on an Elixir node, bounded (it hangs for a visible node
  # that does not answer global).
  defp sync(node) do
    :ok = :erpc.call(node, :global, :sync, [], @timeout)
  end

  # ------------------------------------------------------- the X side

  defp ctl(node, req) do
    send({:ctl, node}, List.to_tuple([self() | Tuple.to_list(req)]))

    receive do
      {:ctl, reply} -> reply
    after
      @timeout -> flunk("no reply from ctl on #{node} to #{inspect(req)}")
    end
  end

  defp x_member({:c, _, n}) do
    {:pg_member, pid} = ctl(n, {:pg_member, :pg, @group})
    pid
  end

  defp x_member({:beam, _, n}), do: :erpc.call(n, helper_mod(), :member, [@group])

  # X monitors pid; the DOWN comes back as {:watched, pid, reason}.
  defp x_watch({:c, _, n}, pid) do
    {:c_watch, ctl(n, {:monitor, pid})}
  end

  defp x_watch({:beam, _, n}, pid) do
    :ok = :erpc.call(n, helper_mod(), :watch, [pid, self()])
    :beam_watch
  end

  defp await_watch({:c_watch, ref}, pid) do
    receive do
      {:ctl, {:DOWN, ^ref, :process, ^pid, reason}} -> reason
    after
      @timeout -> flunk("the C node's monitor of #{inspect(pid)} never fired")
    end
  end

  defp await_watch(:beam_watch, pid) do
    receive do
      {:watched, ^pid, reason} -> reason
    after
      @timeout -> flunk("X's monitor of #{inspect(pid)} never fired")
    end
  end

  defp x_register({:c, _, n}, via, name, pid) do
    {:global_register, :ok, res} = ctl(n, {:global_register, via, name, pid})
    res
  end

  defp x_register({:beam, _, n}, _via, name, pid),
    do: :erpc.call(n, :global, :register_name, [name, pid])

  defp xnode({_, _, n}), do: n

  # What a node sees: the sorted members of the group and where the global
  # names are; X as C node asks via ctl (its names through Via).
  defp view({:c, _, n}, via) do
    {:pg_members, all, _} = ctl(n, {:pg_members, :pg, @group})

    names =
      for name <- [:x_name, :e3_name] do
        {:global_whereis, :ok, where} = ctl(n, {:global_whereis, via, name})
        where
      end

    {Enum.sort(all), names}
  end

  defp view({:beam, _, n}, _via), do: view(n, nil)

  defp view(n, _via) when is_atom(n) do
    {Enum.sort(:erpc.call(n, :pg, :get_members, [:pg, @group])),
     for(name <- [:x_name, :e3_name], do: :erpc.call(n, :global, :whereis_name, [name]))}
  end

  # Waits until pred holds of the node's view; each round is a round trip
  # (erpc or ctl), and the deadline bounds the wait.
  defp await_view(viewer, via, pred, deadline \\ nil) do
    deadline = deadline || System.monotonic_time(:millisecond) + @timeout
    v = view(viewer, via)

    cond do
      pred.(v) ->
        v

      System.monotonic_time(:millisecond) > deadline ->
        flunk("#{inspect(viewer)} never settled: #{inspect(v)}")

      true ->
        await_view(viewer, via, pred, deadline)
    end
  end

  defp role_of(pid, roles) when is_pid(pid),
    do: Map.get(roles, pid) || Map.fetch!(roles, node(pid))

  defp role_of(:undefined, _), do: :undefined

  defp observe(phase, viewers, roles, via) do
    for v <- viewers do
      {members, names} = view(v, via)
      name = if is_tuple(v), do: Map.fetch!(roles, xnode(v)), else: Map.fetch!(roles, v)

      {phase, name, Enum.sort(Enum.map(members, &role_of(&1, roles))),
       Enum.map(names, &role_of(&1, roles))}
    end
  end

  # ---------------------------------------------------------- scenario

  defp scenario(kind, helper) do
    x = start_x(kind, helper)
    xn = xnode(x)
    [{_, e1}, {_, e2}, {p3, e3}] = es = for _ <- 1..3, do: start_elixir(unique(:exe), helper)

    try do
      run(x, xn, e1, e2, p3, e3, helper)
    after
      for {p, _} <- es, do: stop_peer(p)
      stop_x(x)
    end
  end

  defp run(x, xn, e1, e2, p3, e3, helper) do
    elixirs = [e1, e2, e3]
    :ok = connect(elixirs, elixirs ++ [xn])
    for e <- elixirs, do: sync(e)
    mod = if elem(x, 0) == :c, do: :otpc_node, else: helper_mod()

    # erpc and rpc from each Elixir node.
    calls =
      for e <- elixirs do
        t = {:hello, e, [1, 2.5, "bin"]}

        {^t, ^t} =
          {:erpc.call(e, :erpc, :call, [xn, mod, :echo, [t]]),
           :erpc.call(e, :rpc, :call, [xn, mod, :echo, [t]])}

        :ok
      end

    xm = x_member(x)
    [m1, m2, m3] = for e <- elixirs, do: :erpc.call(e, helper_mod(), :member, [@group])
    all = Enum.sort([xm, m1, m2, m3])
    :yes = x_register(x, e1, :x_name, xm)
    :yes = :erpc.call(e3, :global, :register_name, [:e3_name, m3])
    up = fn {members, names} -> members == all and names == [xm, m3] end
    for v <- [x | elixirs], do: await_view(v, e1, up)
    roles = %{xn => :x, e1 => :e1, e2 => :e2, e3 => :e3}
    obs_up = observe(:up, [x | elixirs], roles, e1)
    watch = x_watch(x, m3)

    # SIGKILL the third node: it is lost, not stopped.
    os_pid = :erpc.call(e3, :os, :getpid, [])
    mref = Process.monitor(p3)
    System.cmd("kill", ["-KILL", List.to_string(os_pid)])
    assert_receive {:DOWN, ^mref, :process, ^p3, _}, @timeout
    down_reason = await_watch(watch, m3)

    gone = fn {members, names} ->
      Enum.all?(members, &(node(&1) != e3)) and names == [xm, :undefined]
    end

    for v <- [x, e1, e2], do: await_view(v, e1, gone)
    for e <- [e1, e2], do: sync(e)
    obs_killed = observe(:killed, [x, e1, e2], roles, e1)

    # Restart it under the same name; it connects as a user would.
    [name3, _] = String.split(Atom.to_string(e3), "@")
    {p3b, ^e3} = start_elixir(String.to_atom(name3), helper)

    try do
      :ok = connect([e3], [e1, e2, xn])
      for e <- elixirs, do: sync(e)
      m3b = :erpc.call(e3, helper_mod(), :member, [@group])
      :yes = :erpc.call(e3, :global, :register_name, [:e3_name, m3b])
      back = fn {members, names} -> m3b in members and names == [xm, m3b] end
      for v <- [x | elixirs], do: await_view(v, e1, back)
      t = {:again, e3}
      ^t = :erpc.call(e3, :erpc, :call, [xn, mod, :echo, [t]])
      obs_back = observe(:restarted, [x | elixirs], Map.put(roles, m3, :e3_old), e1)
      %{calls: calls, down: down_reason, obs: [obs_up, obs_killed, obs_back]}
    after
      stop_peer(p3b)
    end
  end

  test "three Elixir nodes and the C node: erpc/rpc, pg, global, a node killed and restarted, as with an Elixir node",
       %{helper: helper} do
    c = scenario(:c, helper)
    beam = scenario(:beam, helper)
    assert c.down == :noconnection
    assert c == beam
  end
end
