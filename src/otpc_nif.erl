%% @doc Loading NIF libraries built with the otpc NIF toolkit, from the
%% priv/ directory of any application, with errors that say exactly what
%% is wrong; and waiting for the result of a thread-pool NIF.
%%
%% erlang:load_nif/2 must be called by the module the library belongs to,
%% so the module passes a fun that calls it:
%%
%%   -on_load(init/0).
%%   init() -> otpc_nif:load(my_app, "my_nif", fun(P, I) -> erlang:load_nif(P, I) end).
%%
%% From Elixir:
%%   @on_load :init
%%   def init, do: :otpc_nif.load(:my_app, ~c"my_nif", fn p, i -> :erlang.load_nif(p, i) end)
%% (not &:erlang.load_nif/2: a remote fun would call load_nif from otpc_nif,
%% and the VM loads a library only for the module that calls load_nif).
-module(otpc_nif).

-export([load/3, load/4, load_file/2, load_file/3, path/2, await/2,
         format_error/1]).

-define(MARKER, <<"otpc-nif-built-for:">>).

-type load_fun() :: fun((string(), term()) -> ok | {error, {atom(), string()}}).
-type reason() :: {missing | wrong_otp | no_app | load_failed, string()}.
-export_type([reason/0]).

%% @doc Loads lib/Name.so from the priv dir of App.
-spec load(atom(), string(), load_fun()) -> ok | {error, reason()}.
load(App, Name, LoadFun) ->
    load(App, Name, LoadFun, 0).

-spec load(atom(), string(), load_fun(), term()) -> ok | {error, reason()}.
load(App, Name, LoadFun, LoadInfo) ->
    case path(App, Name) of
        {ok, Path} -> load_file(Path, LoadFun, LoadInfo);
        Error -> Error
    end.

%% @doc The path (without extension, as load_nif wants it) of lib/Name in
%% the priv dir of App.
-spec path(atom(), string()) -> {ok, string()} | {error, reason()}.
path(App, Name) ->
    case code:priv_dir(App) of
        {error, bad_name} ->
            {error, {no_app, lists:flatten(io_lib:format(
                "otpc_nif: cannot find the priv dir of application ~p: it is not in the code path "
                "(NIF library ~s)", [App, Name]))}};
        Priv ->
            {ok, filename:join([Priv, "lib", Name])}
    end.

%% @doc Loads the library at Path (without the .so extension).
-spec load_file(string(), load_fun()) -> ok | {error, reason()}.
load_file(Path, LoadFun) ->
    load_file(Path, LoadFun, 0).

-spec load_file(string(), load_fun(), term()) -> ok | {error, reason()}.
load_file(Path, LoadFun, LoadInfo) ->
    File = Path ++ ".so",
    case file:read_file(File) of
        {error, enoent} ->
            {error, {missing, lists:flatten(io_lib:format(
                "otpc_nif: NIF library ~s does not exist; build it (`rebar3 compile` or "
                "`make c` runs the NIF build and copies it into priv/lib/)", [File]))}};
        {error, Posix} ->
            {error, {missing, lists:flatten(io_lib:format(
                "otpc_nif: cannot read NIF library ~s: ~s", [File, file:format_error(Posix)]))}};
        {ok, Bin} ->
            case check_built_for(File, Bin) of
                ok -> translate(File, LoadFun(Path, LoadInfo));
                Error -> Error
            end
    end.

%% The toolkit embeds "otpc-nif-built-for:otp=R;nif=M.N;" in each library:
%% compare it with this VM before the VM refuses it with a terser message.
check_built_for(File, Bin) ->
    case binary:match(Bin, ?MARKER) of
        nomatch ->
            ok; % not built with the toolkit: load_nif will judge
        {Pos, Len} ->
            Rest = binary:part(Bin, Pos + Len, min(64, byte_size(Bin) - Pos - Len)),
            Fields = [list_to_tuple(string:split(F, "="))
                      || F <- string:split(binary_to_list(hd(binary:split(Rest, <<0>>))), ";", all),
                         F =/= ""],
            Otp = proplists:get_value("otp", Fields, "?"),
            Nif = proplists:get_value("nif", Fields, "?"),
            MyOtp = erlang:system_info(otp_release),
            MyNif = erlang:system_info(nif_version),
            case {Otp, Nif} of
                {MyOtp, MyNif} -> ok;
                _ ->
                    {error, {wrong_otp, lists:flatten(io_lib:format(
                        "otpc_nif: NIF library ~s was built for OTP ~s (NIF version ~s), but this "
                        "VM is OTP ~s (NIF version ~s); rebuild it against this OTP",
                        [File, Otp, Nif, MyOtp, MyNif]))}}
            end
    end.

translate(_File, ok) ->
    ok;
translate(File, {error, {reload, Text}}) ->
    {error, {load_failed, lists:flatten(io_lib:format(
        "otpc_nif: ~s is already loaded for this module version: ~s", [File, Text]))}};
translate(File, {error, {Kind, Text}}) ->
    {error, {load_failed, lists:flatten(io_lib:format(
        "otpc_nif: loading ~s failed (~p): ~s; the library prints the reason of a failed "
        "load on standard error", [File, Kind, Text]))}};
translate(File, Other) ->
    {error, {load_failed, lists:flatten(io_lib:format("otpc_nif: loading ~s failed: ~p",
                                                      [File, Other]))}}.

%% @doc Waits for the reply of a thread-pool NIF: give it what the NIF
%% returned. {error, busy} (the pool's queue was full) comes back as is.
-spec await({ok, reference()} | {error, busy}, timeout()) ->
    {ok, term()} | {error, term()}.
await({ok, Ref}, Timeout) when is_reference(Ref) ->
    receive
        {Ref, Reply} -> Reply
    after Timeout ->
        {error, timeout}
    end;
await({error, busy} = Busy, _Timeout) ->
    Busy.

%% @doc The text of a load error.
-spec format_error(reason() | term()) -> string().
format_error({_Kind, Text}) when is_list(Text) -> Text;
format_error(Other) -> lists:flatten(io_lib:format("~p", [Other])).
